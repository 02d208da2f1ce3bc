package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// proof of that key (RFC 9449 §10). The metadata lists Algorithms as
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
	raw, err := dpop.FromHeader(h)
	switch {
	case err != nil:
		return nil, dpopError(err)
	case raw == "" && client.DPoPBoundAccessTokens:
		// RFC 9449 §5.2: such a client's requests without a DPoP header
		// are refused; no proof is not an invalid one.
		return nil, ErrInvalidRequest.WithDescription("a DPoP proof is required: this client's access tokens are DPoP-bound")
	case raw == "":
		return nil, nil
	}
	p, err := s.dpop.Verify(ctx, raw, dpop.Request{Method: http.MethodPost, URL: s.cfg.Endpoints.Token})
	if err != nil {
		return nil, dpopError(err)
	}
	return p, nil
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
