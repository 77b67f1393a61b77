// A real OAuth 2 / OpenID Connect authorisation server for the EHR tests: `oidc-provider`
// (npm, pinned in package.json), configured as a SMART App Launch server with the library's
// own options: the `launch` and `aud` authorisation parameters (extraParams), PKCE required,
// `fhirUser` as an id_token claim, client_credentials with private_key_jwt for SMART Backend
// Services, and a post-middleware that adds the launch context (`patient`, `fhirUser`) to
// the token response as SMART requires. Its built-in development login form stands in for
// the EHR's login (any username: the test types the EHR user, e.g. "Practitioner/pr-1").
//
// Environment: SMART_LAUNCHES (JSON {launch: patientId}), TITRATE_REDIRECT_URI,
// BACKEND_JWKS (JSON public JWKS of Titrate's backend client). Prints "listening PORT".
import http from 'node:http';
import Provider from 'oidc-provider';

const launches = JSON.parse(process.env.SMART_LAUNCHES || '{}');
const SCOPES = [
  'openid', 'fhirUser', 'launch',
  'patient/Patient.rs', 'patient/Observation.rs', 'patient/MedicationRequest.rs',
  'patient/MedicationStatement.rs',
  'system/Patient.rs', 'system/Observation.rs', 'system/MedicationRequest.rs',
];

const server = http.createServer();
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const launchOfGrant = new Map();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'titrate',
        token_endpoint_auth_method: 'none',
        redirect_uris: [process.env.TITRATE_REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: 'titrate-backend',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'RS384',
        jwks: JSON.parse(process.env.BACKEND_JWKS || '{"keys":[]}'),
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'system/Patient.rs system/Observation.rs system/MedicationRequest.rs',
      },
    ],
    scopes: SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    extraParams: ['launch', 'aud'],
    pkce: { required: () => true },
    // SMART Backend Services asks for RS384 / ES384 client assertions.
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'] },
    cookies: { keys: ['titrate-ehr-test-cookie-key'] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: true },
    },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id, fhirUser: id }; } };
    },
    // The EHR user already agreed by launching: grant what was asked (no consent page).
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope.split(' ').filter((s) => SCOPES.includes(s)).join(' '));
      grant.addOIDCClaims(['fhirUser']);
      const id = await grant.save();
      if (ctx.oidc.params.launch) launchOfGrant.set(id, ctx.oidc.params.launch);
      return grant;
    },
  });

  // SMART: the token response names the patient of the launch and the user.
  provider.use(async (ctx, next) => {
    await next();
    const grant = ctx.oidc?.entities?.Grant;
    if (ctx.path === '/token' && ctx.status === 200 && grant && launchOfGrant.has(grant.jti)) {
      const patient = launches[launchOfGrant.get(grant.jti)];
      ctx.body = { ...ctx.body, patient, fhirUser: grant.accountId };
    }
  });

  server.on('request', provider.callback());
  console.log(`listening ${port}`);
});
