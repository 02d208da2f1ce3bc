// An independent DPoP client: oauth4webapi's DPoP() handle redeems an
// authorization code, calls a protected resource, refreshes, and calls it
// again, retrying once whenever the server asks for a nonce. The Go test
// TestDPoPOAuth4WebAPI starts the server, makes the code, and runs this
// script with:
//
//   ISSUER         the server's issuer (http on loopback)
//   CLIENT_ID      a public client
//   CODE           an authorization code issued to it
//   CODE_VERIFIER  the PKCE verifier of the code
//   REDIRECT_URI   the code's redirect URI
//   RESOURCE       the URL of the protected resource (GET)
//
// It prints one JSON object of what it saw; any failure exits non-zero.
import * as oauth from 'oauth4webapi'

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set`)
  return v
}
const issuer = new URL(env('ISSUER'))
const client = { client_id: env('CLIENT_ID') }
const clientAuth = oauth.None()
const insecure = { [oauth.allowInsecureRequests]: true } // loopback http test server

// retry runs fn, and once more when the server asked for a DPoP nonce:
// the DPoP handle has kept the nonce from the DPoP-Nonce header.
async function retry(fn) {
  try {
    return await fn()
  } catch (err) {
    if (oauth.isDPoPNonceError(err)) {
      return await fn()
    }
    throw err
  }
}

const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }))
const keyPair = await oauth.generateKeyPair('ES256')
const DPoP = oauth.DPoP(client, keyPair)

const callback = new URL(env('REDIRECT_URI'))
callback.searchParams.set('code', env('CODE'))
callback.searchParams.set('iss', as.issuer)
const params = oauth.validateAuthResponse(as, client, callback, oauth.skipStateCheck)

const tokens = await retry(async () =>
  oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, env('REDIRECT_URI'), env('CODE_VERIFIER'), { ...insecure, DPoP })))

const callResource = async (accessToken, handle) => retry(async () => {
  const resp = await oauth.protectedResourceRequest(accessToken, 'GET', new URL(env('RESOURCE')), undefined, undefined, { ...insecure, DPoP: handle })
  return { status: resp.status, body: await resp.json() }
})
const first = await callResource(tokens.access_token, DPoP)

const refreshed = await retry(async () =>
  oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, { ...insecure, DPoP })))
const second = await callResource(refreshed.access_token, DPoP)

// Another key cannot use the refresh token, nor the access token.
const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
let thiefRefresh = 'accepted'
try {
  await retry(async () =>
    oauth.processRefreshTokenResponse(as, client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, { ...insecure, DPoP: thief })))
} catch (err) {
  thiefRefresh = err?.error ?? String(err)
}
let thiefResource = 'accepted'
try {
  await callResource(refreshed.access_token, thief)
} catch (err) {
  // The challenges of both schemes; the error is in the DPoP one.
  const challenges = Array.isArray(err?.cause) ? err.cause : []
  thiefResource = challenges.map((c) => `${c.scheme}:${c.parameters?.error ?? ''}`).join(' ') || String(err)
}

console.log(JSON.stringify({
  token_type: tokens.token_type,
  first,
  refreshed_token_type: refreshed.token_type,
  second,
  thief_refresh: thiefRefresh,
  thief_resource: thiefResource,
  access_token: refreshed.access_token,
}))
