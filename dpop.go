package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/oauthkit/oauthkit/dpop"
)

// TokenTypeDPoP is the token_type of a DPoP-bound access token
// (RFC 9449 §5) and the scheme it is presented with (RFC 9449 §7.1).
const TokenTypeDPoP = "DPoP"

// DPoPConfig turns on DPoP ([RFC 9449]) at the token endpoint and the
// userinfo endpoint (Config.DPoP). Its zero value is usable: every
// asymmetric algorithm, the package dpop defaults for the iat window, and
// no server nonces.
//
// With DPoP on, a token request carrying a valid proof in its DPoP header
// gets access tokens bound to the proof's key (Token.JKT, the cnf.jkt claim
// of a JWT access token and of introspection) with token_type DPoP; a
// public client's refresh token is bound too, and is refused afterwards
// without a proof made with that key (RFC 9449 §5). A client with
// Client.DPoPBoundAccessTokens must send a proof with every token request,
// and a code whose AuthorizationCode.DPoPJKT is set is redeemed only with a
// proof of that key (RFC 9449 §10). With Config.PAR, a pushed authorization
// request may carry a proof too, whose key then binds its code as dpop_jkt
// would (RFC 9449 §10.1). The metadata lists Algorithms as
// dpop_signing_alg_values_supported.
//
// DPoP needs Config.ReplayCache, shared by every instance: each proof's jti
// is accepted once (RFC 9449 §11.1), so that a proof captured in transit
// cannot be sent again to another instance.
//
// [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
type DPoPConfig struct {
	// Algorithms are the JWS algorithms accepted in proofs, in the order
	// the metadata publishes them: asymmetric ones only (see
	// dpop.Config.Algorithms). Nil means ES256, ES384, ES512, EdDSA,
	// RS256, RS384, RS512, PS256, PS384 and PS512.
	Algorithms []string
	// MaxAge is how long after its iat a proof is accepted. Zero means
	// dpop.DefaultMaxAge.
	MaxAge time.Duration
	// Leeway is how far ahead of the server's clock a proof's iat may be.
	// Zero means dpop.DefaultLeeway.
	Leeway time.Duration
	// Nonces, if set, makes the server require a nonce it issued in every
	// proof (RFC 9449 §8): a proof without one, or with a stale one, is
	// answered use_dpop_nonce, and every token endpoint response carries a
	// fresh nonce in its DPoP-Nonce header. Every instance must hold the
	// same key (see dpop.NewNonces). Nil means no nonces.
	Nonces *dpop.Nonces
}

// newDPoPVerifier returns the proof verifier of cfg.DPoP, or nil when DPoP
// is off.
func newDPoPVerifier(cfg *Config, now func() time.Time) (*dpop.Verifier, error) {
	if cfg.DPoP == nil {
		return nil, nil
	}
	if cfg.ReplayCache == nil {
		return nil, errors.New("oauthkit: Config.DPoP needs Config.ReplayCache, shared by every instance, to accept each proof once (RFC 9449 §11.1)")
	}
	c := dpop.Config{
		Algorithms: cfg.DPoP.Algorithms,
		MaxAge:     cfg.DPoP.MaxAge,
		Leeway:     cfg.DPoP.Leeway,
		Replay:     cfg.ReplayCache,
		Time:       now,
	}
	if cfg.DPoP.Nonces != nil { // never a typed nil in the interface
		c.Nonces = cfg.DPoP.Nonces
	}
	v, err := dpop.New(c)
	if err != nil {
		return nil, fmt.Errorf("oauthkit: Config.DPoP: %w", err)
	}
	return v, nil
}

// setDPoPNonce gives the client the current server nonce, if nonces are on
// (RFC 9449 §8): with a use_dpop_nonce error it is the one to retry with,
// and with any other answer the one for its next request.
func (s *Server) setDPoPNonce(h http.Header) {
	if s.cfg.DPoP != nil && s.cfg.DPoP.Nonces != nil {
		h.Set("DPoP-Nonce", s.cfg.DPoP.Nonces.Nonce(s.now()))
	}
}

// tokenProof checks the DPoP proof of a token request by client
// (RFC 9449 §5): nil if there is none and none is required, the accepted
// proof, or the error to answer. The proof's htm is POST and its htu the
// token endpoint's URL, Endpoints.Token.
func (s *Server) tokenProof(ctx context.Context, h http.Header, client *Client) (*dpop.Proof, *Error) {
	if s.dpop == nil {
		if client.DPoPBoundAccessTokens {
			// The host registered a client this server cannot serve.
			return nil, ErrServerError.Wrap(fmt.Errorf("oauthkit: client %s has DPoPBoundAccessTokens, but Config.DPoP is nil", client.ID))
		}
		return nil, nil // a server without DPoP ignores the header (RFC 9449 §5)
	}
	p, oerr := s.requestProof(ctx, h, s.cfg.Endpoints.Token)
	if p == nil && oerr == nil && client.DPoPBoundAccessTokens {
		// RFC 9449 §5.2: such a client's requests without a DPoP header
		// are refused; no proof is not an invalid one.
		return nil, ErrInvalidRequest.WithDescription("a DPoP proof is required: this client's access tokens are DPoP-bound")
	}
	return p, oerr
}

// requestProof checks the DPoP proof in the headers h of a POST to the
// server's endpoint at endpointURL (RFC 9449 §4.3): nil if there is none,
// the accepted proof, or the error to answer. It is the one proof check of
// the server's back-channel endpoints: the token endpoint's (tokenProof)
// and the pushed authorization request endpoint's (RFC 9449 §10.1,
// pushedProof). DPoP must be on (s.dpop set).
func (s *Server) requestProof(ctx context.Context, h http.Header, endpointURL string) (*dpop.Proof, *Error) {
	raw, err := dpop.FromHeader(h)
	switch {
	case err != nil:
		return nil, dpopError(err)
	case raw == "":
		return nil, nil
	}
	p, err := s.dpop.Verify(ctx, raw, dpop.Request{Method: http.MethodPost, URL: endpointURL})
	if err != nil {
		return nil, dpopError(err)
	}
	return p, nil
}

// pushedProof checks the DPoP proof of a pushed authorization request
// (RFC 9449 §10.1), whose htu is the endpoint's URL,
// Endpoints.PushedAuthorization, and binds the request to its key: the
// key's thumbprint becomes the request's dpop_jkt, so that its code is
// redeemed only with a proof of that key (RFC 9449 §10). A dpop_jkt the
// client pushed as well must name that key; RFC 9449 §10.1 requires the
// request's refusal and names no error code: it is invalid_request, the
// proof itself being valid. Without a proof, or with DPoP off (which
// ignores the header, as the token endpoint does), params is left as it is.
func (s *Server) pushedProof(ctx context.Context, h http.Header, params url.Values) *Error {
	if s.dpop == nil {
		return nil
	}
	p, oerr := s.requestProof(ctx, h, s.cfg.Endpoints.PushedAuthorization)
	if p == nil {
		return oerr
	}
	if jkt, ok := params["dpop_jkt"]; ok && jkt[0] != p.Thumbprint {
		return ErrInvalidRequest.WithDescription("dpop_jkt is not the thumbprint of the DPoP proof's key (RFC 9449 §10.1)")
	}
	params["dpop_jkt"] = []string{p.Thumbprint}
	return nil
}

// dpopError maps an error of dpop.Verify or dpop.FromHeader to the token
// endpoint's: invalid_dpop_proof (RFC 9449 §5), use_dpop_nonce (§8), or
// server_error for a fault of the replay cache.
func dpopError(err error) *Error {
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		return ErrUseDPoPNonce.WithDescription("%s", err.Error())
	case errors.Is(err, dpop.ErrInvalidProof):
		return ErrInvalidDPoPProof.WithDescription("%s", err.Error())
	default:
		return ErrServerError.Wrap(err)
	}
}

// checkBinding checks that a request whose DPoP proof has the key
// thumbprint jkt ("" without a proof) may use a grant bound to bound
// (a code's dpop_jkt, a refresh token's cnf.jkt), and returns the
// invalid_grant to answer if not. what names the grant.
func checkBinding(bound, jkt, what string) *Error {
	switch {
	case bound == "" || bound == jkt:
		return nil
	case jkt == "":
		return ErrInvalidGrant.WithDescription("the %s is bound to a DPoP key: a DPoP proof made with it is required", what)
	default:
		return ErrInvalidGrant.WithDescription("the %s is bound to another DPoP key", what)
	}
}
