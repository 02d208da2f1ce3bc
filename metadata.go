package oauthkit

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/oauthkit/oauthkit/pkce"
)

// Metadata is the authorization server metadata document (RFC 8414 §2).
type Metadata struct {
	Issuer                                             string   `json:"issuer"`
	AuthorizationEndpoint                              string   `json:"authorization_endpoint"`
	TokenEndpoint                                      string   `json:"token_endpoint"`
	JWKSURI                                            string   `json:"jwks_uri,omitempty"`
	UserInfoEndpoint                                   string   `json:"userinfo_endpoint,omitempty"`
	RevocationEndpoint                                 string   `json:"revocation_endpoint,omitempty"`
	RevocationEndpointAuthMethodsSupported             []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	RevocationEndpointAuthSigningAlgValuesSupported    []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpoint                              string   `json:"introspection_endpoint,omitempty"`
	IntrospectionEndpointAuthMethodsSupported          []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	ResponseTypesSupported                             []string `json:"response_types_supported"`
	ResponseModesSupported                             []string `json:"response_modes_supported"`
	GrantTypesSupported                                []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported                  []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported         []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	CodeChallengeMethodsSupported                      []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssParameterSupported         bool     `json:"authorization_response_iss_parameter_supported"`
	ScopesSupported                                    []string `json:"scopes_supported,omitempty"`
	// DeviceAuthorizationEndpoint is RFC 8628 §4's, present with
	// Config.Device.
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint,omitempty"`
	// DPoPSigningAlgValuesSupported are the JWS algorithms of DPoP proofs
	// (RFC 9449 §5.1), present when DPoP is on.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	RegistrationEndpoint          string   `json:"registration_endpoint,omitempty"` // RFC 7591 §3
	// ClientIDMetadataDocumentSupported: Config.Clients is a
	// ClientIDMetadataDocumentClients.
	ClientIDMetadataDocumentSupported bool `json:"client_id_metadata_document_supported,omitempty"`

	// OpenID Connect Discovery 1.0 §3, present when ID tokens are issued.
	SubjectTypesSupported            []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported,omitempty"`
	ClaimsSupported                  []string `json:"claims_supported,omitempty"`
	PromptValuesSupported            []string `json:"prompt_values_supported,omitempty"`
	// RequestURIParameterSupported is false when OpenID Connect is on:
	// Discovery §3 reads its absence as true. (It is about request objects
	// by reference, RFC 9101; a pushed request's request_uri is not one.)
	RequestURIParameterSupported *bool `json:"request_uri_parameter_supported,omitempty"`

	// RFC 9126 §5, present when pushed authorization requests are on.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests,omitempty"`
}

// Metadata returns the server's metadata, generated from its Config.
func (s *Server) Metadata() Metadata {
	var m Metadata
	json.Unmarshal(s.metadataJSON, &m) // built from this type; cannot fail
	return m
}

func (s *Server) buildMetadata() ([]byte, error) {
	e := s.cfg.Endpoints
	// From the table that drives authentication: public clients cannot
	// introspect.
	authMethods := authMethodNames(s.authMethods)
	signingAlgs := authSigningAlgorithms(s.authMethods)
	m := Metadata{
		Issuer:                                     s.cfg.Issuer,
		AuthorizationEndpoint:                      e.Authorization,
		TokenEndpoint:                              e.Token,
		JWKSURI:                                    e.JWKS,
		UserInfoEndpoint:                           e.UserInfo,
		RevocationEndpoint:                         e.Revocation,
		IntrospectionEndpoint:                      e.Introspection,
		ResponseTypesSupported:                     []string{ResponseTypeCode},
		ResponseModesSupported:                     []string{ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost},
		TokenEndpointAuthMethodsSupported:          authMethods,
		CodeChallengeMethodsSupported:              []string{pkce.S256},
		AuthorizationResponseIssParameterSupported: true,
	}
	m.TokenEndpointAuthSigningAlgValuesSupported = signingAlgs
	if s.device != nil {
		m.DeviceAuthorizationEndpoint = e.DeviceAuthorization
	}
	if e.Revocation != "" {
		m.RevocationEndpointAuthMethodsSupported = authMethods
		m.RevocationEndpointAuthSigningAlgValuesSupported = signingAlgs
	}
	if e.Introspection != "" {
		m.IntrospectionEndpointAuthMethodsSupported = authMethodNames(s.authMethods, AuthMethodNone)
		m.IntrospectionEndpointAuthSigningAlgValuesSupported = signingAlgs
	}
	oidc := s.cfg.IDTokens != nil
	if s.cfg.AllowImplicitGrant {
		m.ResponseTypesSupported = append(m.ResponseTypesSupported, "token", "code token")
		if oidc {
			m.ResponseTypesSupported = append(m.ResponseTypesSupported, "id_token", "id_token token", "code id_token", "code id_token token")
		}
		m.GrantTypesSupported = append(m.GrantTypesSupported, GrantTypeImplicit)
	}
	m.ScopesSupported = s.cfg.ScopesSupported
	if s.cfg.Registration != nil {
		m.RegistrationEndpoint = e.Registration
	}
	_, m.ClientIDMetadataDocumentSupported = s.cfg.Clients.(interface{ clientIDMetadataDocuments() })
	if oidc {
		if !slices.Contains(m.ScopesSupported, ScopeOpenID) {
			m.ScopesSupported = append([]string{ScopeOpenID}, m.ScopesSupported...)
		}
		m.SubjectTypesSupported = []string{"public"}
		m.IDTokenSigningAlgValuesSupported = []string{s.cfg.IDTokens.Algorithm()}
		m.ClaimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "azp", "at_hash", "c_hash"}
		for _, c := range s.cfg.ClaimsSupported {
			if !slices.Contains(m.ClaimsSupported, c) {
				m.ClaimsSupported = append(m.ClaimsSupported, c)
			}
		}
		m.PromptValuesSupported = promptValues
		m.RequestURIParameterSupported = new(bool)
	}
	if s.cfg.PAR != nil {
		m.PushedAuthorizationRequestEndpoint = e.PushedAuthorization
		m.RequirePushedAuthorizationRequests = s.cfg.PAR.RequireForAllClients
	}
	if s.dpop != nil { // the list that drives verification
		m.DPoPSigningAlgValuesSupported = s.dpop.Algorithms()
	}
	if s.cfg.AllowPlainPKCE {
		m.CodeChallengeMethodsSupported = append(m.CodeChallengeMethodsSupported, pkce.Plain)
	}
	for gt := range s.grants {
		m.GrantTypesSupported = append(m.GrantTypesSupported, gt)
	}
	slices.Sort(m.GrantTypesSupported)
	return json.MarshalIndent(m, "", "  ")
}

// authSigningAlgorithms returns the algorithms of the methods that verify
// what the client signs (ClientAuthMethodWithAlgorithms), in order, once
// each.
func authSigningAlgorithms(methods []ClientAuthMethod) []string {
	var algs []string
	for _, m := range methods {
		if m, ok := m.(ClientAuthMethodWithAlgorithms); ok {
			for _, a := range m.SigningAlgorithms() {
				if !slices.Contains(algs, a) {
					algs = append(algs, a)
				}
			}
		}
	}
	return algs
}

// MetadataHandler returns a handler serving the metadata document, to be
// mounted at /.well-known/oauth-authorization-server (RFC 8414 §3) and, when
// OpenID Connect is on, also at /.well-known/openid-configuration (OpenID
// Connect Discovery 1.0 §4): one document serves both, as RFC 8414 §1
// intends. The document is built once, by New.
func (s *Server) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(s.metadataJSON)))
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Access-Control-Allow-Origin", "*")
		w.Write(s.metadataJSON)
	})
}

// Locations of the metadata document, relative to the issuer.
const (
	wellKnownOAuth  = "/.well-known/oauth-authorization-server" // RFC 8414 §3
	wellKnownOpenID = "/.well-known/openid-configuration"       // OpenID Connect Discovery 1.0 §4
)

// metadataPatterns returns the ServeMux patterns of the metadata of an
// issuer whose URL path is issuerPath ("" or "/tenant", wildcards allowed):
// RFC 8414 §3.1 inserts the well-known path before the issuer's path;
// OpenID Connect Discovery 1.0 §4 appends it to the issuer.
func metadataPatterns(issuerPath string) (oauth, openID string) {
	return "GET " + wellKnownOAuth + issuerPath, "GET " + issuerPath + wellKnownOpenID
}

// HandleMetadata registers MetadataHandler on mux at the paths its issuer
// gives the metadata: /.well-known/oauth-authorization-server with the
// issuer's path appended (RFC 8414 §3.1: for the issuer
// https://id.example.com/acme, /.well-known/oauth-authorization-server/acme),
// and, when OpenID Connect is on, the issuer's path with
// /.well-known/openid-configuration appended (OpenID Connect Discovery 1.0
// §4: /acme/.well-known/openid-configuration). It panics, as ServeMux.Handle
// does, if mux has either path already or the issuer's path has braces.
func (s *Server) HandleMetadata(mux *http.ServeMux) {
	u, _ := url.Parse(s.cfg.Issuer) // validated by New
	oauth, openID := metadataPatterns(u.Path)
	mux.Handle(oauth, s.MetadataHandler())
	if s.cfg.IDTokens != nil {
		mux.Handle(openID, s.MetadataHandler())
	}
}

// HandleMetadata registers on mux the metadata of every tenant, at the
// paths of HandleMetadata for issuers whose URL path is issuerPath, a
// ServeMux pattern with the wildcard that TenantsConfig.Tenant reads: for
// issuers https://id.example.com/{tenant}, "/{tenant}" registers
// /.well-known/oauth-authorization-server/{tenant} (RFC 8414 §3.1) and
// /{tenant}/.well-known/openid-configuration (OpenID Connect Discovery 1.0
// §4), the latter answered 404 for a tenant without OpenID Connect.
func (t *Tenants) HandleMetadata(mux *http.ServeMux, issuerPath string) {
	oauth, openID := metadataPatterns(issuerPath)
	mux.Handle(oauth, t.Handler((*Server).MetadataHandler))
	mux.Handle(openID, t.Handler(func(s *Server) http.Handler {
		if s.cfg.IDTokens == nil {
			return http.NotFoundHandler()
		}
		return s.MetadataHandler()
	}))
}

// KeyPublisher is implemented by a Signer or TokenIssuer whose tokens are
// checked with public keys, such as package jwt's KeySet and AccessTokens:
// JWKS returns them as a JSON Web Key Set (RFC 7517 §5), which
// Server.JWKSHandler serves.
type KeyPublisher interface {
	JWKS() []byte
}

// jwksMaxAge is how long, in seconds, clients may cache JWKSHandler's
// document: jwt.JWKSMaxAge, which relying parties refetch at once when they
// meet an unknown kid.
const jwksMaxAge = "300"

// JWKSHandler returns a handler serving, to GET and HEAD requests, the
// public keys of the server's tokens, to be mounted at Endpoints.JWKS: the
// JSON Web Key Set of Config.IDTokens, Config.AccessTokens and
// Config.AccessTokenFormats that are KeyPublishers, merged (each key once,
// by kid). With several tenants, each tenant's Server serves its own keys
// (Tenants.Handler((*Server).JWKSHandler)). With no KeyPublisher the set
// is empty.
func (s *Server) JWKSHandler() http.Handler {
	var pubs []KeyPublisher
	add := func(v any) {
		if p, ok := v.(KeyPublisher); ok && !slices.ContainsFunc(pubs, func(q KeyPublisher) bool { return sameValue(p, q) }) {
			pubs = append(pubs, p)
		}
	}
	add(s.cfg.IDTokens)
	for _, iss := range append([]TokenIssuer{s.cfg.AccessTokens}, mapValues(s.cfg.AccessTokenFormats)...) {
		add(iss)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		jwks := mergeJWKS(pubs)
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(jwks)))
		h.Set("Cache-Control", "public, max-age="+jwksMaxAge)
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodGet {
			w.Write(jwks)
		}
	})
}

// mergeJWKS returns the key sets of pubs as one, each kid once, in order.
// The common case, one key set behind every publisher, is served as it is.
func mergeJWKS(pubs []KeyPublisher) []byte {
	if len(pubs) == 0 {
		return []byte(`{"keys":[]}`)
	}
	first := pubs[0].JWKS()
	var sets [][]byte
	for _, p := range pubs[1:] {
		if b := p.JWKS(); !bytes.Equal(b, first) {
			sets = append(sets, b)
		}
	}
	if len(sets) == 0 {
		return first
	}
	var merged struct {
		Keys []json.RawMessage `json:"keys"`
	}
	merged.Keys = []json.RawMessage{}
	seen := map[string]bool{}
	for _, b := range append([][]byte{first}, sets...) {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		json.Unmarshal(b, &set) // KeyPublishers' own documents; a bad one adds nothing
		for _, k := range set.Keys {
			var id struct {
				Kid string `json:"kid"`
			}
			json.Unmarshal(k, &id)
			name := "kid:" + id.Kid
			if id.Kid == "" { // no kid: the same key is the same bytes
				name = "key:" + strings.TrimSpace(string(k))
			}
			if !seen[name] {
				seen[name] = true
				merged.Keys = append(merged.Keys, k)
			}
		}
	}
	out, _ := json.Marshal(merged)
	return out
}
