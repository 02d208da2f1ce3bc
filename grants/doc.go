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
//		},
//	}
//
// A host's own extension grant is written the same way: a type with
// GrantType and HandleGrant methods.
package grants
