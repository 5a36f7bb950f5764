// End-to-end check of the browser UI against a running panel, with
// playwright-core driving the system's Chromium (never a downloaded one).
//
// Env: BERTH_URL, BERTH_ADMIN_EMAIL, BERTH_ADMIN_PASSWORD, BERTH_CLIENT_EMAIL,
// BERTH_CLIENT_PASSWORD, BERTH_SITE_DOMAIN (a site the client owns),
// BERTH_ARTIFACTS (screenshots; default ./e2e-artifacts), BERTH_CHROMIUM
// (default /usr/bin/chromium).
//
// Besides checking what exists, it walks the proof scenario: the
// admin creates a package, a tenant with it and a client user of it; that
// client logs in, creates a static site `e2e-<suffix>.test`, watches its job
// finish, finds it in the list and opens its logs. The names carry a random
// suffix; the tenant's name is printed (`e2e tenant: …`) so that whoever
// runs this can remove the Linux user the panel makes for it.
//
// Exit 0 when every step passed; 1 with the first failed expectation.
// Prints one JSON line with the dashboard's first-load figures.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    console.error(`FAIL: environment variable ${name} is not set`);
    process.exit(1);
  }
  return v;
}

const BASE = env('BERTH_URL').replace(/\/+$/, '');
const ADMIN = { email: env('BERTH_ADMIN_EMAIL'), password: env('BERTH_ADMIN_PASSWORD') };
const CLIENT = { email: env('BERTH_CLIENT_EMAIL'), password: env('BERTH_CLIENT_PASSWORD') };
const SITE = env('BERTH_SITE_DOMAIN');
const ARTIFACTS = resolve(env('BERTH_ARTIFACTS', 'e2e-artifacts'));
const CHROMIUM = process.env.BERTH_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.BERTH_E2E_TIMEOUT_MS || 8000);
mkdirSync(ARTIFACTS, { recursive: true });

// What the scenario creates: unique per run.
const SUFFIX = Math.random().toString(36).slice(2, 8).padEnd(6, '0');
const NEW = {
  packageName: `E2E package ${SUFFIX}`,
  tenant: `e2e${SUFFIX}`,
  tenantDisplay: `E2E tenant ${SUFFIX}`,
  email: `client-${SUFFIX}@e2e.example`,
  password: `Copper-Meadow-Signal-${SUFFIX}`,
  domain: `e2e-${SUFFIX}.test`,
};
// A job runs on the node: give it longer than one page wait.
const JOB_TIMEOUT = Math.max(TIMEOUT, 30000);

const origin = new URL(BASE).origin;
const foreign = [];
const pageErrors = [];

class Expectation extends Error {}
function expect(cond, message) {
  if (!cond) throw new Expectation(message);
}

let browser;
let page;
let current = 'start';

async function step(name, fn) {
  current = name;
  const t = Date.now();
  await fn();
  console.log(`ok  ${name} (${Date.now() - t} ms)`);
}

async function shot(name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const nav = () => page.getByRole('navigation', { name: 'Main' });
const heading = (name) => page.getByRole('heading', { level: 1, name, exact: true });

async function login({ email, password }) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

async function logout() {
  await page.locator('header button[aria-haspopup="true"]').click();
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await heading('Log in').waitFor();
  await page.getByText('You are logged out.').waitFor();
}

async function dashboardReady() {
  await page.locator('[data-testid="dashboard"][data-ready="true"]').waitFor();
}

async function statValue(id) {
  const el = page.getByTestId(`stat-${id}`);
  await el.waitFor();
  const text = (await el.textContent())?.trim() ?? '';
  expect(/^\d+$/.test(text), `dashboard figure ${id} shows "${text}", not a number`);
  return Number(text);
}

async function openSite(domain) {
  await nav().getByRole('link', { name: 'Sites', exact: true }).click();
  await heading('Sites').waitFor();
  await page.getByLabel('Search domains').fill(domain);
  await page.getByRole('link', { name: domain, exact: true }).waitFor();
}

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  context.setDefaultTimeout(TIMEOUT);
  // The UI may talk to the panel only: anything else is recorded and refused.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  page = await context.newPage();
  console.log(`e2e tenant: ${NEW.tenant}`);
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  await step('login page', async () => {
    await page.goto(`${BASE}/`);
    await heading('Log in').waitFor();
    expect(new URL(page.url()).pathname === '/login', `expected /login, at ${page.url()}`);
    await shot('login');
  });

  await step('admin logs in and sees the dashboard', async () => {
    await login(ADMIN);
    await heading('Dashboard').waitFor();
    await dashboardReady();
  });

  let figures;
  await step('dashboard first load (cold cache)', async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(`${BASE}/`, { waitUntil: 'commit' });
    await dashboardReady();
    figures = await page.evaluate(() => {
      const navEntry = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource');
      const ready = performance.getEntriesByName('berth:dashboard-ready')[0];
      return {
        dashboard_transfer_bytes:
          (navEntry ? navEntry.transferSize : 0) + resources.reduce((n, r) => n + r.transferSize, 0),
        dashboard_ready_ms: ready ? Math.round(ready.startTime) : null,
        dashboard_requests: resources.length + 1,
      };
    });
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await cdp.detach();
    expect(figures.dashboard_ready_ms !== null, 'the dashboard set no ready mark');
  });

  await step('dashboard shows the counts', async () => {
    const sites = await statValue('sites');
    expect(sites >= 1, `dashboard shows ${sites} sites, expected at least 1`);
    await statValue('tenants');
    await statValue('nodes');
    await statValue('certificates');
    await statValue('jobs-succeeded');
    await shot('dashboard');
  });

  await step('sites list shows the site', async () => {
    await openSite(SITE);
    await shot('sites');
  });

  await step('site detail shows the domain', async () => {
    await page.getByRole('link', { name: SITE, exact: true }).click();
    await heading(SITE).waitFor();
    await page.getByText('Document root').waitFor();
    await shot('site-detail');
  });

  await step('jobs list shows jobs', async () => {
    await nav().getByRole('link', { name: 'Jobs', exact: true }).click();
    await heading('Jobs').waitFor();
    await page.getByTestId('job-link').first().waitFor();
    await shot('jobs');
  });

  await step('a job shows its steps', async () => {
    // The first job that has started (a queued one has no steps yet).
    const rows = page.locator('table tbody tr');
    const n = await rows.count();
    let picked = -1;
    for (let i = 0; i < n; i++) {
      const state = (await rows.nth(i).locator('td').nth(1).textContent())?.trim();
      if (state && state !== 'queued') {
        picked = i;
        break;
      }
    }
    expect(picked >= 0, `none of the ${n} jobs on the first page has started`);
    await rows.nth(picked).getByTestId('job-link').click();
    await page.getByRole('heading', { level: 2, name: 'Steps' }).waitFor();
    await page.getByTestId('job-step').first().waitFor();
    await shot('job-detail');
  });

  await step('certificates page loads', async () => {
    await nav().getByRole('link', { name: 'Certificates', exact: true }).click();
    await heading('Certificates').waitFor();
    await page.locator('table, :text("No certificates yet.")').first().waitFor();
    await shot('certificates');
  });

  await step('dark mode', async () => {
    await page.getByRole('button', { name: 'Switch to dark mode' }).click();
    expect(await page.evaluate(() => document.documentElement.classList.contains('dark')), 'no dark class');
    await shot('certificates-dark');
    await page.getByRole('button', { name: 'Switch to light mode' }).click();
  });

  await step('a new tab of the same browser is signed in and can write', async () => {
    const tab = await page.context().newPage();
    try {
      await tab.goto(`${BASE}/sites`);
      await tab.getByRole('heading', { name: 'Sites', exact: true }).waitFor();
      const token = await tab.evaluate(() => sessionStorage.getItem('berth.csrf'));
      expect(!!token, 'the new tab got no CSRF token from GET /api/v1/auth/session');
      // A write with that token is accepted, one without it refused.
      const put = (t) =>
        tab.evaluate(async (tok) => {
          const headers = { 'Content-Type': 'application/json' };
          if (tok) headers['X-CSRF-Token'] = tok;
          const r = await fetch('/api/v1/settings/platform.brand_name', {
            method: 'PUT',
            headers,
            body: JSON.stringify({ value: 'Berth' }),
          });
          return r.status;
        }, t);
      const withToken = await put(token);
      expect(withToken === 200, `a write with the new tab's CSRF token answered ${withToken}`);
      const without = await put(null);
      expect(without === 403, `a write without a CSRF token answered ${without}`);
    } finally {
      await tab.close();
    }
  });

  await step('admin creates a package (a blank name shows the API message at the field)', async () => {
    await nav().getByRole('link', { name: 'Packages', exact: true }).click();
    await heading('Packages').waitFor();
    const form = page.getByRole('form', { name: 'New package' });
    await form.getByRole('button', { name: 'Create package', exact: true }).click();
    const err = form.locator('[data-field-error="name"]');
    await err.waitFor();
    expect(((await err.textContent()) ?? '').trim().length > 0, 'the name error is empty');
    await form.getByLabel('Name', { exact: true }).fill(NEW.packageName);
    await form.getByLabel('Sites', { exact: true }).fill('5');
    await form.getByLabel('PHP workers', { exact: true }).fill('4');
    await form.getByRole('button', { name: 'Create package', exact: true }).click();
    await page.getByText(`Package “${NEW.packageName}” created.`).waitFor();
    const row = page.getByTestId('package-row').filter({ hasText: NEW.packageName });
    await row.waitFor();
    const sites = (await row.locator('td').nth(1).textContent())?.trim();
    expect(sites === '5', `the new package's sites limit shows "${sites}", expected 5`);
    expect((await form.locator('[data-field-error]').count()) === 0, 'a field error is still shown after success');
    await shot('packages');
  });

  await step(`admin creates tenant ${NEW.tenant} with that package`, async () => {
    await nav().getByRole('link', { name: 'Tenants', exact: true }).click();
    await heading('Tenants').waitFor();
    await page.getByRole('link', { name: 'New tenant', exact: true }).click();
    await heading('New tenant').waitFor();
    await page.getByLabel('Account name', { exact: true }).fill(NEW.tenant);
    await page.getByLabel('Display name', { exact: true }).fill(NEW.tenantDisplay);
    const pkg = page.getByLabel('Package', { exact: true });
    await pkg.locator('option', { hasText: NEW.packageName }).waitFor({ state: 'attached' });
    await pkg.selectOption({ label: NEW.packageName });
    await shot('tenant-new');
    await page.getByRole('button', { name: 'Create tenant', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'created' }).waitFor();
  });

  await step('admin creates a client user of that tenant', async () => {
    await page.getByRole('link', { name: `New user for ${NEW.tenant}`, exact: true }).click();
    await heading('New user').waitFor();
    const tenant = page.getByLabel('Tenant', { exact: true });
    await tenant.locator('option', { hasText: `(${NEW.tenant})` }).waitFor({ state: 'attached' });
    const picked = await tenant.evaluate((el) => el.options[el.selectedIndex]?.textContent ?? '');
    expect(picked.includes(`(${NEW.tenant})`), `the tenant select shows "${picked}", not ${NEW.tenant}`);
    await page.getByLabel('Email', { exact: true }).fill(NEW.email);
    await page.getByLabel('Name', { exact: true }).fill(`E2E client ${SUFFIX}`);
    await page.getByLabel('Password', { exact: true }).fill(NEW.password);
    await page.getByRole('button', { name: 'Create user', exact: true }).click();
    await page.getByText(`Client user ${NEW.email} of ${NEW.tenantDisplay} created.`).waitFor();
  });

  await step('the tenants list offers a new user from the tenant row', async () => {
    await nav().getByRole('link', { name: 'Tenants', exact: true }).click();
    await page.getByLabel('Search tenants').fill(NEW.tenant);
    await page.getByRole('link', { name: `New user for ${NEW.tenant}`, exact: true }).waitFor();
  });

  await step('admin logs out', logout);

  await step('client logs in: own site, no staff screens in the nav', async () => {
    await login(CLIENT);
    await dashboardReady();
    const sites = await statValue('sites');
    expect(sites >= 1, `client dashboard shows ${sites} sites`);
    for (const hidden of ['Nodes', 'Audit', 'Tenants', 'Packages']) {
      const count = await nav().getByRole('link', { name: hidden, exact: true }).count();
      expect(count === 0, `client nav shows ${hidden}`);
    }
    await openSite(SITE);
    await shot('client-sites');
  });

  await step('client typing /nodes and /audit: not available', async () => {
    for (const path of ['/nodes', '/audit']) {
      await page.goto(`${BASE}${path}`);
      await page.getByRole('heading', { name: 'Not available for your role' }).waitFor();
    }
    await shot('client-not-available');
  });

  await step('phone width: menu opens, nothing overflows', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${BASE}/`);
    await dashboardReady();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 0, `dashboard is ${overflow}px wider than a 375px screen`);
    await page.getByRole('button', { name: 'Open menu' }).click();
    await page.getByRole('dialog', { name: 'Menu' }).getByRole('link', { name: 'Sites', exact: true }).waitFor();
    await shot('phone-menu');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Menu' }).waitFor({ state: 'detached' });
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await step('client logs out', logout);

  await step('the new client logs in', async () => {
    await login({ email: NEW.email, password: NEW.password });
    await heading('Dashboard').waitFor();
    await dashboardReady();
  });

  await step(`client creates ${NEW.domain} and watches its job finish`, async () => {
    await nav().getByRole('link', { name: 'Sites', exact: true }).click();
    await heading('Sites').waitFor();
    await page.getByRole('link', { name: 'New site', exact: true }).click();
    await heading('New site').waitFor();
    // A client's tenant is its own: no tenant to choose.
    expect((await page.getByLabel('Tenant', { exact: true }).count()) === 0, 'a client is asked for a tenant');
    await page.getByLabel('Domain', { exact: true }).fill(NEW.domain);
    expect((await page.getByLabel('Kind', { exact: true }).inputValue()) === 'static', 'the kind is not static');
    await page.getByRole('button', { name: 'Create site', exact: true }).click();
    await heading(`New site: ${NEW.domain}`).waitFor();
    const progress = page.getByTestId('job-progress');
    await progress.waitFor();
    await progress.getByText('Done', { exact: true }).waitFor({ timeout: JOB_TIMEOUT });
    const steps = progress.getByTestId('job-step');
    expect((await steps.count()) >= 1, 'the finished job shows no steps');
    const states = await steps.locator('span.rounded-full').allTextContents();
    expect(states.every((t) => t.trim() === 'succeeded'), `step states: ${states.join(', ')}`);
    await shot('site-new-progress');
  });

  await step('the new site is in the list and opens', async () => {
    await openSite(NEW.domain);
    await page.getByRole('link', { name: NEW.domain, exact: true }).click();
    await heading(NEW.domain).waitFor();
    await page.getByText('Document root').waitFor();
  });

  await step('its logs: access, then error, then refresh', async () => {
    await page.getByRole('heading', { level: 2, name: 'Logs' }).waitFor();
    const which = page.getByRole('group', { name: 'Which log' });
    const access = which.getByRole('button', { name: 'Access', exact: true });
    expect((await access.getAttribute('aria-pressed')) === 'true', 'the access log is not the one shown first');
    const shown = page.locator('[data-testid="site-log"], [data-testid="site-log-empty"]');
    await shown.first().waitFor();
    await which.getByRole('button', { name: 'Error', exact: true }).click();
    await page.getByText('No lines yet in the error log.').or(page.getByLabel('Last lines of the error log')).waitFor();
    await access.click();
    await page.getByText('No lines yet in the access log.').or(page.getByLabel('Last lines of the access log')).waitFor();
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/logs?') && r.url().includes('log=access')),
      page.getByRole('button', { name: 'Refresh', exact: true }).click(),
    ]);
    expect(res.status() === 200, `refreshing the access log answered ${res.status()}`);
    await shown.first().waitFor();
    await shot('site-logs');
  });

  await step('the new client logs out', logout);

  await step('a wrong password shows the API message', async () => {
    await page.getByLabel('Email').fill(CLIENT.email);
    await page.getByLabel('Password').fill(`${CLIENT.password}-wrong`);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')),
      page.getByRole('button', { name: 'Log in', exact: true }).click(),
    ]);
    const body = await res.json();
    expect(res.status() === 401, `wrong password answered ${res.status()}`);
    expect(typeof body.message === 'string' && body.message.length > 0, 'the API sent no message');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = (await alert.textContent())?.trim();
    expect(text === body.message, `the page says "${text}", the API said "${body.message}"`);
    await shot('login-error');
  });

  await step('a session ended elsewhere sends the user to the login page', async () => {
    await page.getByLabel('Password').fill(CLIENT.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await dashboardReady();
    // End the session behind the UI's back, then use the UI.
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/v1/auth/logout', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': sessionStorage.getItem('berth.csrf') ?? '' },
      });
      return r.status;
    });
    expect(status === 204, `logout answered ${status}`);
    await nav().getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByText('Your session ended. Please log in again.').waitFor();
    await shot('session-ended');
  });

  expect(foreign.length === 0, `requests to other hosts: ${foreign.join(', ')}`);
  expect(pageErrors.length === 0, `errors in the page: ${pageErrors.join('; ')}`);
  console.log(JSON.stringify(figures));
}

try {
  await main();
  console.log(`e2e: all steps passed; screenshots in ${ARTIFACTS}`);
  await browser?.close();
  process.exit(0);
} catch (e) {
  // Playwright's first line says "Timeout exceeded"; the call log says what for.
  // eslint-disable-next-line no-control-regex
  const lines = String(e?.message ?? e).replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const waiting = lines.find((l) => /waiting for/.test(l))?.replace(/^\s*-\s*/, '');
  const what = e instanceof Expectation ? e.message : [lines[0]?.replace(/\.$/, ''), waiting].filter(Boolean).join(': ');
  console.error(`FAIL: ${current}: ${what}`);
  try {
    if (page) await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true });
  } catch {
    // the page may be gone
  }
  await browser?.close().catch(() => {});
  process.exit(1);
}
