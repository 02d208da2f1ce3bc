// Package bearer protects the handlers of a resource server with OAuth 2.0
// bearer tokens ([RFC 6750]): it finds the access token in a request,
// validates it, checks its scope, and hands the token's claims to the
// handler, or refuses the request with the status and WWW-Authenticate
// challenge the RFC prescribes.
//
// [JWKS] and [Introspection] work with any authorization server that
// publishes a JWK Set or an introspection endpoint. The package imports
// package oauthkit, for [Local] only: a resource server in the same process
// as an oauthkit.Server validates tokens against its stores.
//
//	jwks, err := bearer.NewJWKS(bearer.JWKSConfig{
//		URL:      "https://auth.example.com/jwks",
//		Issuer:   "https://auth.example.com",
//		Audience: "https://api.example.com",
//	})
//	...
//	mw, err := bearer.New(bearer.Config{Validator: jwks, Realm: "api"})
//	...
//	mux.Handle("GET /photos", mw.Wrap(http.HandlerFunc(listPhotos), "photos.read"))
//
//	func listPhotos(w http.ResponseWriter, r *http.Request) {
//		claims, _ := bearer.FromContext(r.Context())
//		user, ok := claims.ResourceOwner()
//		if !ok { // the client's own token (client credentials): no user
//			http.Error(w, "a user's token is required", http.StatusForbidden)
//			return
//		}
//		... user ...
//	}
//
// Read the user with [Claims.ResourceOwner], never from Claims.Subject
// alone: the subject of a token a client obtained for itself is the
// client's ID, which may be spelled like a user's ([RFC 9700 §4.15.1]).
//
// # Token transmission
//
// The token is read from the Authorization request header
// ([RFC 6750 §2.1]), the scheme matched case-insensitively. When
// Config.AllowFormBody is set, it may instead be the access_token parameter
// of a form-encoded POST, PUT or PATCH body ([RFC 6750 §2.2]); never both.
//
// The URI query parameter of [RFC 6750 §2.3] is not supported, and the query
// string is never read: a token in a URL ends up in server and proxy logs,
// browser history and Referer headers ([RFC 6750 §5.3]), and
// [RFC 9700 §4.3.2] says access tokens must not be sent in the query. A
// request whose only token is in the query is treated as carrying none.
//
// With Config.DPoP ([DPoPConfig]), a token bound to a key (RFC 9449) is
// accepted as "Authorization: DPoP <token>" with a proof in the DPoP header
// whose htm, htu and ath match the request and whose key is the token's
// (Claims.JKT); it is refused as a bearer token. Without Config.DPoP, every
// bound token is refused.
//
// # Validators
//
// A [Validator] turns a token into [Claims]. [JWKS] validates JWT access
// tokens ([RFC 9068]) locally against the authorization server's published
// keys; [Introspection] asks the authorization server ([RFC 7662]), with a
// bound on the calls in flight, and caches the answers briefly; [Fallback]
// chains them, so that JWTs are checked locally and opaque tokens are
// introspected. [Local] looks tokens up in an in-process oauthkit.Server. A
// [ValidatorFunc] adapts any other lookup.
//
// # Responses
//
// A request without a token gets 401 and a challenge with no error code. A
// malformed request gets 400 invalid_request, an invalid token 401
// invalid_token, a token lacking a required scope 403 insufficient_scope
// with the scopes required ([RFC 6750 §3.1]), a user authentication short
// of a route's requirements 401 insufficient_user_authentication. When the
// validator cannot decide (the authorization server is out of reach), the
// answer is 503, or 500 for an internal fault, without detail; the cause is
// logged. Tokens are never logged.
//
// With Config.DPoP a DPoP challenge listing the accepted algorithms follows
// the Bearer one (RFC 9449 §7.1), the error in the challenge of the
// request's scheme: a missing or bad proof is 401 invalid_dpop_proof, a
// proof without a current nonce 401 use_dpop_nonce with a DPoP-Nonce
// header, and a bound token as Bearer, an unbound one as DPoP, or a proof
// of another key, 401 invalid_token.
//
// The middleware guards every method, OPTIONS included: a host that serves
// CORS preflight requests answers them before the middleware.
//
// # Step-up authentication
//
// A route may require more of the user's authentication than a valid token:
// [Middleware.WrapWith] takes [Requirements] with the accepted
// authentication context classes (the token's "acr") and a maximum age of
// the authentication (its "auth_time", measured with Config.Now). A token
// that falls short, has no auth_time when an age is required, or was issued
// to a client for itself gets 401 insufficient_user_authentication with
// acr_values and max_age ([RFC 9470 §3]); the client sends the user back to
// the authorization server with them. [Middleware.Wrap] is WrapWith with
// scopes only.
//
//	mux.Handle("POST /payments", mw.WrapWith(pay, bearer.Requirements{
//		Scopes:    []string{"payments"},
//		ACRValues: []string{"urn:example:mfa"},
//		MaxAge:    5 * time.Minute,
//	}))
//
// # Protected resource metadata
//
// [MetadataHandler] serves the resource's metadata ([RFC 9728]), naming its
// authorization servers, at the well-known URL [MetadataURL] derives from
// the resource identifier. With Config.ResourceMetadata set to that URL,
// every challenge carries it as resource_metadata ([RFC 9728 §5.1]), so a
// client that knows only the resource's URL, such as a Model Context
// Protocol client, discovers where to get a token.
//
//	u, err := bearer.MetadataURL("https://api.example.com")
//	...
//	md, err := bearer.MetadataHandler(bearer.ProtectedResourceMetadata{
//		Resource:             "https://api.example.com",
//		AuthorizationServers: []string{"https://auth.example.com"},
//	})
//	...
//	mux.Handle("GET "+u.Path, md)
//	mw, err := bearer.New(bearer.Config{Validator: jwks, ResourceMetadata: u.String()})
//
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
// [RFC 6750 §2.2]: https://www.rfc-editor.org/rfc/rfc6750#section-2.2
// [RFC 6750 §2.3]: https://www.rfc-editor.org/rfc/rfc6750#section-2.3
// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
// [RFC 6750 §5.3]: https://www.rfc-editor.org/rfc/rfc6750#section-5.3
// [RFC 9700 §4.3.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.3.2
// [RFC 9700 §4.15.1]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15.1
// [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
// [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662
// [RFC 9470 §3]: https://www.rfc-editor.org/rfc/rfc9470#section-3
// [RFC 9728]: https://www.rfc-editor.org/rfc/rfc9728
// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
package bearer
