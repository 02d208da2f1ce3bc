package grants

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/internal/assertion"
	"github.com/oauthkit/oauthkit/internal/jwks"
)

// GrantTypeJWTBearer is the grant_type of the JWT bearer grant
// ([RFC 7523 §2.1]).
//
// [RFC 7523 §2.1]: https://www.rfc-editor.org/rfc/rfc7523#section-2.1
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// TrustedIssuer is an issuer of JWT bearer assertions that the host trusts
// (an identity provider, a security token service), and its public keys.
type TrustedIssuer struct {
	// Issuer is its identifier, the iss of its assertions. Required.
	Issuer string
	// JWKS is its public keys, a JWK Set (RFC 7517 §5) in JSON; JWKSURI
	// is the https URL where it publishes them instead. Exactly one is
	// set.
	JWKS    []byte
	JWKSURI string
}

// SubjectFunc maps the sub of a verified assertion, in the namespace of
// issuer, to the resource owner the tokens are for (see
// JWTBearerConfig.Subject). To refuse, it returns an error wrapping
// oauthkit.ErrNotFound (answered invalid_grant) or an *oauthkit.Error
// (answered as it is); any other error is an internal fault.
type SubjectFunc func(ctx context.Context, issuer, sub string, client *oauthkit.Client) (subject string, err error)

// JWTBearerConfig configures a JWTBearer grant. The zero value of every
// optional field is the default.
type JWTBearerConfig struct {
	// Issuer and TokenEndpoint are the server's Config.Issuer and token
	// endpoint URL (Config.Endpoints.Token; empty means Issuer + "/token",
	// as there): an assertion's aud must contain one of them. The grant
	// is built before the server, so they are passed here. Issuer is
	// required.
	Issuer        string
	TokenEndpoint string
	// ReplayCache remembers each assertion's jti until its exp, so that it
	// is accepted once: the server's Config.ReplayCache, normally. Its keys
	// are those of client assertions (the issuer and the jti), so that one
	// JWT serves once, as a grant or as client authentication. Required.
	ReplayCache oauthkit.ReplayCache

	// TrustedIssuers are the issuers whose assertions are accepted, each
	// verified with its own keys only.
	TrustedIssuers []TrustedIssuer
	// ClientSignedAssertions also accepts assertions that the
	// authenticated client signs itself: iss is its client ID, and the key
	// one of its registered Client.JWKS or Client.JWKSURI. Such a client
	// can name any sub: Subject decides what it may have. An iss that is a
	// trusted issuer is that issuer's, even if a client has it as its ID.
	ClientSignedAssertions bool

	// Subject resolves an assertion's sub to the resource owner the tokens
	// are issued for. Required: no default is safe, since a sub belongs to
	// its issuer's namespace (another issuer's "alice", or the host's own
	// user "alice", is someone else), and a client that signs its own
	// assertions could otherwise name any user. issuer is a
	// TrustedIssuer's Issuer, or the client's ID for an assertion it
	// signed; client is the authenticated client. The subject it returns
	// must not be empty.
	Subject SubjectFunc

	// Algorithms lists the JWS algorithms accepted, among ES256, ES384,
	// ES512, RS256, RS384, RS512, PS256, PS384, PS512 and EdDSA (RSA keys
	// of at least 2048 bits). Nil means all of them. "none" and HMAC are
	// never accepted.
	Algorithms []string
	// MaxLifetime bounds how far in the future an assertion's exp may be.
	// Zero means oauthkit.DefaultAssertionMaxLifetime.
	MaxLifetime time.Duration
	// HTTPClient fetches jwks_uri documents (of trusted issuers and of
	// clients). Nil means a client with a FetchTimeout timeout.
	HTTPClient *http.Client
	// FetchTimeout bounds each fetch of a jwks_uri. Zero means
	// oauthkit.DefaultJWKSFetchTimeout.
	FetchTimeout time.Duration
}

// JWTBearer serves the JWT bearer grant ([RFC 7523 §2.1] and [§3]): the
// client sends grant_type [GrantTypeJWTBearer], a signed JWT in the
// assertion parameter, and optionally scope, and obtains an access token
// for the resource owner the JWT names. Make it with NewJWTBearer, add it to
// Config.Grants, and register GrantTypeJWTBearer on the clients that may
// use it. The token endpoint authenticates the client as for any grant.
//
// An assertion is accepted only if it is a compact JWS signed with an
// allowed asymmetric algorithm by a key of its issuer, a TrustedIssuer (or
// the client itself, with ClientSignedAssertions; found by kid, or the
// issuer's only key of the algorithm's type; never a key the JWS header
// embeds or points to), and if its claims have an iss and a sub, an aud
// that contains the issuer or the token endpoint URL, an exp in the future
// and at most MaxLifetime ahead, nbf and iat (if present) not in the
// future, and a jti not used before. These are the rules of
// [oauthkit.PrivateKeyJWT], verified by the same code. Subject then maps the
// sub to the resource owner. A refusal is invalid_grant, with a description
// of the rule broken (RFC 7523 §3.1). The scope parameter is checked against
// the client's scopes before the assertion, which is then not spent; the
// grant issues no refresh token (the client presents a new assertion).
//
// For example, a server that trusts its company's identity provider for
// the users it knows:
//
//	bearer, err := grants.NewJWTBearer(grants.JWTBearerConfig{
//		Issuer:         issuer, // as in oauthkit.Config
//		ReplayCache:    store,
//		TrustedIssuers: []grants.TrustedIssuer{{Issuer: "https://idp.example.com", JWKSURI: "https://idp.example.com/jwks"}},
//		Subject: func(ctx context.Context, iss, sub string, _ *oauthkit.Client) (string, error) {
//			return users.ByExternalID(ctx, iss, sub) // an error wrapping oauthkit.ErrNotFound for strangers
//		},
//	})
//	// …
//	srv, err := oauthkit.New(oauthkit.Config{Issuer: issuer, ReplayCache: store, Grants: []oauthkit.GrantHandler{bearer}, /* … */})
//
// [RFC 7523 §2.1]: https://www.rfc-editor.org/rfc/rfc7523#section-2.1
// [§3]: https://www.rfc-editor.org/rfc/rfc7523#section-3
type JWTBearer struct {
	verifier   assertion.Verifier
	subject    SubjectFunc
	trusted    map[string]func(ctx context.Context, kid, alg string) (any, error)
	clientKeys *assertion.ClientKeys // nil without ClientSignedAssertions
}

// NewJWTBearer checks cfg and returns the grant it configures.
func NewJWTBearer(cfg JWTBearerConfig) (*JWTBearer, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("grants: JWTBearerConfig.Issuer is required")
	case cfg.ReplayCache == nil:
		return nil, errors.New("grants: JWTBearerConfig.ReplayCache is required, to use each assertion once")
	case cfg.Subject == nil:
		return nil, errors.New("grants: JWTBearerConfig.Subject is required: no default mapping of an assertion's sub to a resource owner is safe")
	case len(cfg.TrustedIssuers) == 0 && !cfg.ClientSignedAssertions:
		return nil, errors.New("grants: JWTBearerConfig has no TrustedIssuers and not ClientSignedAssertions: it would accept nothing")
	case cfg.MaxLifetime < 0 || cfg.FetchTimeout < 0:
		return nil, errors.New("grants: JWTBearerConfig durations must not be negative")
	case cfg.Algorithms != nil && len(cfg.Algorithms) == 0:
		return nil, errors.New("grants: JWTBearerConfig.Algorithms is empty")
	}
	if cfg.Algorithms == nil {
		cfg.Algorithms = jwks.Algorithms
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range cfg.Algorithms {
		if !slices.Contains(jwks.Algorithms, a) {
			return nil, fmt.Errorf("grants: JWTBearerConfig.Algorithms: %q is not an allowed asymmetric JWS algorithm", a)
		}
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	if cfg.TokenEndpoint == "" {
		cfg.TokenEndpoint = cfg.Issuer + "/token"
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = oauthkit.DefaultAssertionMaxLifetime
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = oauthkit.DefaultJWKSFetchTimeout
	}
	g := &JWTBearer{
		verifier: assertion.Verifier{
			Algorithms:  algs,
			Audiences:   []string{cfg.Issuer, cfg.TokenEndpoint},
			MaxLifetime: cfg.MaxLifetime,
			Replay:      cfg.ReplayCache,
		},
		subject: cfg.Subject,
		trusted: make(map[string]func(context.Context, string, string) (any, error)),
	}
	for _, t := range cfg.TrustedIssuers {
		key, err := trustedKeys(t, algs, cfg)
		if err != nil {
			return nil, err
		}
		if _, dup := g.trusted[t.Issuer]; dup {
			return nil, fmt.Errorf("grants: trusted issuer %q listed twice", t.Issuer)
		}
		g.trusted[t.Issuer] = key
	}
	if cfg.ClientSignedAssertions {
		g.clientKeys = assertion.NewClientKeys(algs, cfg.HTTPClient, cfg.FetchTimeout, time.Now)
	}
	return g, nil
}

// trustedKeys checks t and returns the lookup of its keys.
func trustedKeys(t TrustedIssuer, algs []jose.SignatureAlgorithm, cfg JWTBearerConfig) (func(ctx context.Context, kid, alg string) (any, error), error) {
	switch {
	case t.Issuer == "":
		return nil, errors.New("grants: a TrustedIssuer has no Issuer")
	case (len(t.JWKS) > 0) == (t.JWKSURI != ""):
		return nil, fmt.Errorf("grants: trusted issuer %q needs exactly one of JWKS and JWKSURI", t.Issuer)
	case len(t.JWKS) > 0:
		set, _, err := jwks.Parse(t.JWKS, algs)
		if err != nil {
			return nil, fmt.Errorf("grants: trusted issuer %q: %w", t.Issuer, err)
		}
		return func(_ context.Context, kid, alg string) (any, error) {
			if k := set.Key(kid, alg); k != nil {
				return k, nil
			}
			return nil, assertion.Refuse("signed with an unknown key")
		}, nil
	case !assertion.IsHTTPS(t.JWKSURI):
		return nil, fmt.Errorf("grants: trusted issuer %q: JWKSURI must be an https URL", t.Issuer)
	}
	remote := jwks.NewRemote(jwks.Config{
		URL:          t.JWKSURI,
		Algorithms:   algs,
		Client:       cfg.HTTPClient,
		FetchTimeout: cfg.FetchTimeout,
	})
	return func(ctx context.Context, kid, alg string) (any, error) {
		// The issuer's keys are the host's configuration: a set that cannot
		// be fetched or used is the server's fault, not the client's.
		key, err := assertion.RemoteKey(remote.Key(ctx, kid, alg))
		if errors.Is(err, jwks.ErrUnavailable) || errors.Is(err, jwks.ErrInvalidSet) {
			return nil, fmt.Errorf("grants: the JWK Set of trusted issuer %s: %w: %w", t.Issuer, oauthkit.ErrUnavailable, err)
		}
		return key, err
	}, nil
}

// GrantType returns GrantTypeJWTBearer.
func (*JWTBearer) GrantType() string { return GrantTypeJWTBearer }

// HandleGrant verifies the assertion and grants the requested scope to the
// resource owner that Subject maps its sub to.
func (g *JWTBearer) HandleGrant(ctx context.Context, req *oauthkit.TokenRequest) (*oauthkit.Grant, error) {
	raw := req.Form.Get("assertion")
	if raw == "" {
		return nil, oauthkit.ErrInvalidRequest.WithDescription("missing assertion")
	}
	scope, err := req.Scope()
	if err != nil {
		return nil, err
	}
	_, subject, err := g.verify(ctx, req, raw, "assertion", oauthkit.ErrInvalidGrant)
	if err != nil {
		return nil, err
	}
	return &oauthkit.Grant{Subject: subject, Scope: scope}, nil
}

// verify checks the JWT raw, sent as the parameter param of req, by the
// rules of the grant, and returns its issuer and the resource owner that
// Subject maps its sub to. A refusal is refused (with a description naming
// param); any other error is a fault. It is the one check of a JWT from a
// trusted issuer: an assertion of this grant, or a token exchange's
// subject or actor token of type jwt.
func (g *JWTBearer) verify(ctx context.Context, req *oauthkit.TokenRequest, raw, param string, refused *oauthkit.Error) (issuer, subject string, err error) {
	claims, err := g.verifier.Verify(ctx, raw, req.Time, func(ctx context.Context, c *assertion.Claims, kid, alg string) (any, error) {
		return g.key(ctx, req.Client, c.Issuer, kid, alg)
	})
	if r, ok := errors.AsType[*assertion.Refusal](err); ok {
		return "", "", refused.WithDescription("%s", r.Description(param)).Wrap(r.Err)
	}
	if err != nil {
		return "", "", err
	}
	subject, err = g.subject(ctx, claims.Issuer, claims.Subject, req.Client)
	switch {
	case errors.Is(err, oauthkit.ErrNotFound):
		return "", "", refused.WithDescription("the %s's sub is not a resource owner this client may act for", param).Wrap(err)
	case err != nil:
		return "", "", err
	case subject == "":
		return "", "", errors.New("grants: JWTBearerConfig.Subject returned an empty subject")
	}
	return claims.Issuer, subject, nil
}

// key returns the key of issuer for kid and alg: a trusted issuer's, or,
// for an assertion the client signed, one of the client's.
func (g *JWTBearer) key(ctx context.Context, client *oauthkit.Client, issuer, kid, alg string) (any, error) {
	if trusted := g.trusted[issuer]; trusted != nil {
		return trusted(ctx, kid, alg)
	}
	if g.clientKeys == nil || issuer != client.ID {
		return nil, assertion.Refuse("iss is not a trusted issuer")
	}
	key, err := g.clientKeys.Key(ctx, client.JWKS, client.JWKSURI, kid, alg)
	if errors.Is(err, jwks.ErrUnavailable) {
		return nil, fmt.Errorf("grants: fetching the JWK Set of client %s: %w: %w", client.ID, oauthkit.ErrUnavailable, err)
	}
	return key, err
}
