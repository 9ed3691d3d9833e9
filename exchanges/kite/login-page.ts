/**
 * A minimal stand-in for kite.zerodha.com's login: step one posts the password with fetch.
 * Step two, when the TOTP step answers with a redirect, is a plain form POST to /api/twofa so
 * the browser follows the 302 to the app; when it answers JSON, the page posts it with fetch
 * (the answer sets the session cookie) and opens the login URL again, which redirects to the app.
 */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function loginPage(apiKey: string, answer: 'json' | 'redirect' = 'redirect'): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Kite Connect (simulator) login</title></head>
<body>
<h1>Kite Connect simulator</h1>
<p>App: <code>${esc(apiKey)}</code></p>
<form id="password">
  <label>User ID <input name="user_id" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Login</button>
</form>
<form id="twofa" method="post" action="/api/twofa" hidden>
  <input type="hidden" name="user_id"><input type="hidden" name="request_id">
  <input type="hidden" name="twofa_type" value="totp">
  <label>TOTP <input name="twofa_value" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code"></label>
  <button type="submit">Continue</button>
</form>
<p id="error" role="alert"></p>
<script>
document.getElementById('password').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = new URLSearchParams(new FormData(e.target));
  const res = await fetch('/api/login', { method: 'POST', body });
  const json = await res.json();
  if (json.status !== 'success') { document.getElementById('error').textContent = json.message; return; }
  const f = document.getElementById('twofa');
  f.user_id.value = body.get('user_id');
  f.request_id.value = json.data.request_id;
  f.hidden = false;
  e.target.hidden = true;
});
${answer === 'json' ? `document.getElementById('twofa').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/api/twofa', { method: 'POST', body: new URLSearchParams(new FormData(e.target)) });
  const json = await res.json();
  if (json.status !== 'success') { document.getElementById('error').textContent = json.message; return; }
  location.assign(location.href);
});` : ''}
</script>
</body></html>`;
}
