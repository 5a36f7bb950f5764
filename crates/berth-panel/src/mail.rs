//! Outgoing panel mail (password resets) through the SMTP relay configured
//! in settings (`smtp.*`). Without `smtp.host` no mail is sent.

use crate::state::SharedState;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub async fn from_settings(st: &SharedState) -> Option<Mailer> {
        let host = st.settings.string("smtp.host").await;
        let from = st.settings.string("smtp.from").await;
        if host.is_empty() || from.is_empty() {
            return None;
        }
        let port = u16::try_from(st.settings.i64("smtp.port").await).ok()?;
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone()).port(port);
        if st.settings.boolean("smtp.starttls").await {
            match TlsParameters::new(host) {
                Ok(p) => b = b.tls(Tls::Required(p)),
                Err(e) => {
                    tracing::error!(error = %e, "bad SMTP TLS parameters");
                    return None;
                }
            }
        }
        Some(Mailer {
            transport: b.build(),
            from: from.parse().ok()?,
        })
    }

    pub async fn send_reset(
        &self,
        st: &SharedState,
        to: &berth_proto::Email,
        code: &str,
        ttl_min: i64,
    ) -> Result<(), String> {
        let brand = st.settings.string("platform.brand_name").await;
        let url = st.settings.string("panel.public_url").await;
        let link = if url.is_empty() {
            String::new()
        } else {
            format!("\nOr open: {}/reset-password?code={code}\n", url.trim_end_matches('/'))
        };
        let body = format!(
            "Someone asked to reset the password of your {brand} account.\n\n\
             Your reset code: {code}\n{link}\n\
             It works once, for {ttl_min} minutes. If this was not you, ignore this mail.\n"
        );
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to.as_str().parse::<Mailbox>().map_err(|e| e.to_string())?)
            .subject(format!("{brand}: password reset"))
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport.send(msg).await.map(|_| ()).map_err(|e| e.to_string())
    }
}
