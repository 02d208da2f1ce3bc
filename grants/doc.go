// Package grants holds the grant types a server opts into at its token
// endpoint, beyond the authorization_code and refresh_token grants that
// package oauthkit serves itself. Each is an [oauthkit.GrantHandler]; add it
// to Config.Grants, and register the grant type on the clients that may use
// it:
//
//	oauthkit.Config{
//		Grants: []oauthkit.GrantHandler{
//			grants.ClientCredentials{},
//			grants.Password{Users: users}, // deprecated: RFC 9700 §2.4
//			jwtBearer, // from NewJWTBearer: RFC 7523 assertions
//			grants.ExternalToken{Users: users}, // imports tokens of another server
//			grants.NewTokenExchange(grants.TokenExchangeConfig{Policy: policy}), // RFC 8693
//		},
//	}
//
// [JWTBearer] takes JWT assertions (RFC 7523 §2.1) from issuers the host
// trusts, or signed by the client itself, with the claim rules and replay
// cache of oauthkit.PrivateKeyJWT; it is built by NewJWTBearer, which is
// given the server's issuer and replay cache.
//
// [ExternalToken] imports an access token (and a refresh token) that
// another authorization server minted, for a user whose password checks or
// whose token the host's Verify callback accepts: the values become this
// server's tokens, through [oauthkit.Grant.ImportAccessToken].
//
// [TokenExchange] exchanges an access token of this server, or a trusted
// issuer's JWT (verified by a [JWTBearer]'s rules), for a token of the same
// subject, with an actor recorded as RFC 8693's act claim; a host
// [ExchangePolicy] decides what may be exchanged, and nothing may without
// one.
//
// Every grant takes RFC 8707 resource parameters, which the token endpoint
// checks and makes the access token's audience (oauthkit.TokenRequest.Resources).
//
// A host's own extension grant is written the same way: a type with
// GrantType and HandleGrant methods.
package grants
