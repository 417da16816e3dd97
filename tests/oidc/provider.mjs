// A real OpenID Connect provider for the end-to-end sign-in test (tests/test_auth_browser.py): the certified
// `oidc-provider` package (pinned in package.json / package-lock.json, installed with `npm ci` beside this file)
// with its development login and consent forms. Any login name and password sign in; the login name is the
// account's `sub` and its verified `email`. Loopback only: this is a test fixture, never a real identity provider.
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Streamlit reads the user from the ID token only (it never calls the userinfo endpoint)
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() { return { sub: id, email: id, email_verified: true, name: id.split('@')[0] }; },
    };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['seqstudio-test-only-cookie-key'] },
});
provider.proxy = false;

const server = provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
