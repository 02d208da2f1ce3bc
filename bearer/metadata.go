package bearer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// wellKnownMetadata is the well-known URI suffix of protected resource
// metadata (RFC 9728 §3).
const wellKnownMetadata = "/.well-known/oauth-protected-resource"

// ProtectedResourceMetadata is the metadata document of a protected resource
// ([RFC 9728 §2]): what a client that knows only the resource's URL needs to
// find its authorization servers and call it. Empty fields are left out.
// [MetadataHandler] validates and serves it.
//
// Signed metadata (RFC 9728 §2.2) is not supported.
//
// [RFC 9728 §2]: https://www.rfc-editor.org/rfc/rfc9728#section-2
type ProtectedResourceMetadata struct {
	// Resource is the resource identifier ("resource"): an https URL with
	// no fragment (http only for a loopback host). Required. A client
	// checks that it equals the URL it derived the metadata URL from
	// (RFC 9728 §3.3), so it must be the URL given to [MetadataURL].
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers of the authorization
	// servers whose tokens the resource accepts ("authorization_servers"):
	// https URLs without query or fragment (http only for loopback).
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// JWKSURI is the URL of the resource's own public keys ("jwks_uri"),
	// for resources that sign responses; https (http only for loopback).
	JWKSURI string `json:"jwks_uri,omitempty"`
	// ScopesSupported are the scopes used to request access to the
	// resource ("scopes_supported"), each an RFC 6749 §3.3 scope-token.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported are the ways the resource accepts a bearer
	// token ("bearer_methods_supported"): "header" and, with
	// Config.AllowFormBody, "body". Nil means ["header"]; an empty non-nil
	// slice is sent as [], meaning none. "query" is refused, as the
	// middleware never reads the query.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitzero"`
	// ResourceSigningAlgValuesSupported are the JWS algorithms the resource
	// signs responses with ("resource_signing_alg_values_supported");
	// "none" is refused.
	ResourceSigningAlgValuesSupported []string `json:"resource_signing_alg_values_supported,omitempty"`
	// ResourceName is the resource's human-readable name ("resource_name").
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of the resource's documentation for
	// developers ("resource_documentation"): an absolute http or https URL.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// ResourcePolicyURI is the URL of the resource's data use policy
	// ("resource_policy_uri"): an absolute http or https URL.
	ResourcePolicyURI string `json:"resource_policy_uri,omitempty"`
	// ResourceTOSURI is the URL of the resource's terms of service
	// ("resource_tos_uri"): an absolute http or https URL.
	ResourceTOSURI string `json:"resource_tos_uri,omitempty"`
	// TLSClientCertificateBoundAccessTokens says that the resource supports
	// mutual-TLS certificate-bound access tokens (RFC 8705)
	// ("tls_client_certificate_bound_access_tokens").
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// AuthorizationDetailsTypesSupported are the authorization details
	// types (RFC 9396) the resource understands
	// ("authorization_details_types_supported").
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"`
	// DPoPSigningAlgValuesSupported are the JWS algorithms the resource
	// accepts in DPoP proofs (RFC 9449) ("dpop_signing_alg_values_supported");
	// "none" is refused.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundAccessTokensRequired says that the resource accepts only
	// DPoP-bound access tokens ("dpop_bound_access_tokens_required").
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
}

// MetadataURL returns the URL at which the metadata of the protected
// resource identified by resource is published ([RFC 9728 §3.1]): the
// well-known path /.well-known/oauth-protected-resource inserted between the
// host and the resource's path, the query kept. A path of only "/" is
// dropped. For example, https://api.example.com/photos gives
// https://api.example.com/.well-known/oauth-protected-resource/photos.
//
// Mount the [MetadataHandler] at its Path, and set Config.ResourceMetadata
// to its String. It returns an error if resource is not a valid resource
// identifier (see ProtectedResourceMetadata.Resource).
//
// [RFC 9728 §3.1]: https://www.rfc-editor.org/rfc/rfc9728#section-3.1
func MetadataURL(resource string) (*url.URL, error) {
	if err := checkEndpoint("resource identifier", resource); err != nil {
		return nil, err
	}
	u, _ := url.Parse(resource) // checked above
	path, rawPath := u.Path, u.RawPath
	if path == "/" {
		path, rawPath = "", ""
	}
	u.Path = wellKnownMetadata + path
	if rawPath != "" {
		u.RawPath = wellKnownMetadata + rawPath
	}
	return u, nil
}

// MetadataHandler validates md and returns a handler serving it as JSON to
// GET and HEAD requests ([RFC 9728 §3.2]), to be mounted at the path of
// [MetadataURL](md.Resource). Other methods get 405. The document is
// encoded once; it may be cached for an hour and read from any origin.
//
// [RFC 9728 §3.2]: https://www.rfc-editor.org/rfc/rfc9728#section-3.2
func MetadataHandler(md ProtectedResourceMetadata) (http.Handler, error) {
	if err := md.validate(); err != nil {
		return nil, err
	}
	if md.BearerMethodsSupported == nil {
		md.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("bearer: encoding protected resource metadata: %w", err)
	}
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	}), nil
}

// validate checks md as RFC 9728 §2 requires, and the parts of it that
// describe this package's middleware.
func (md *ProtectedResourceMetadata) validate() error {
	if err := checkEndpoint("ProtectedResourceMetadata.Resource", md.Resource); err != nil {
		return err
	}
	for _, as := range md.AuthorizationServers {
		if err := checkEndpoint("ProtectedResourceMetadata.AuthorizationServers", as); err != nil {
			return err
		}
		if u, _ := url.Parse(as); u.RawQuery != "" || u.ForceQuery {
			return errors.New("bearer: ProtectedResourceMetadata.AuthorizationServers must be issuer identifiers, with no query")
		}
	}
	if md.JWKSURI != "" {
		if err := checkEndpoint("ProtectedResourceMetadata.JWKSURI", md.JWKSURI); err != nil {
			return err
		}
	}
	for _, f := range [...]struct{ name, raw string }{
		{"ResourceDocumentation", md.ResourceDocumentation},
		{"ResourcePolicyURI", md.ResourcePolicyURI},
		{"ResourceTOSURI", md.ResourceTOSURI},
	} {
		if u, err := url.Parse(f.raw); f.raw != "" && (err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http") {
			return errors.New("bearer: ProtectedResourceMetadata." + f.name + " must be an absolute http or https URL")
		}
	}
	for _, s := range md.ScopesSupported {
		if !isScopeToken(s) {
			return fmt.Errorf("bearer: ProtectedResourceMetadata.ScopesSupported: invalid scope %q", s)
		}
	}
	for i, m := range md.BearerMethodsSupported {
		switch {
		case m == "query":
			return errors.New(`bearer: ProtectedResourceMetadata.BearerMethodsSupported: "query" is never accepted (RFC 9700 §4.3.2)`)
		case m != "header" && m != "body":
			return fmt.Errorf("bearer: ProtectedResourceMetadata.BearerMethodsSupported: unknown method %q", m)
		case slices.Contains(md.BearerMethodsSupported[:i], m):
			return fmt.Errorf("bearer: ProtectedResourceMetadata.BearerMethodsSupported: %q repeated", m)
		}
	}
	for _, f := range [...]struct {
		name string
		algs []string
	}{
		{"ResourceSigningAlgValuesSupported", md.ResourceSigningAlgValuesSupported},
		{"DPoPSigningAlgValuesSupported", md.DPoPSigningAlgValuesSupported},
	} {
		for _, alg := range f.algs {
			if alg == "" || strings.EqualFold(alg, "none") {
				return fmt.Errorf("bearer: ProtectedResourceMetadata.%s: invalid algorithm %q", f.name, alg)
			}
		}
	}
	for _, t := range md.AuthorizationDetailsTypesSupported {
		if t == "" {
			return errors.New("bearer: ProtectedResourceMetadata.AuthorizationDetailsTypesSupported: empty type")
		}
	}
	return nil
}
