package oauthkit

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/assertion"
)

// SealKeySize is the size of a ClientSecretJWT.SealKey: an AES-256 key.
const SealKeySize = 32

// hmacAlgorithms are the algorithms of client_secret_jwt, with the
// shortest secret each may be keyed with: its hash's size (RFC 7518 §3.2).
var hmacAlgorithms = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// ClientSecretJWT is the client_secret_jwt client authentication method
// ([RFC 7523 §2.2] and [§3], [OpenID Connect Core 1.0 §9]): the client MACs
// a JWT with its client secret (HS256, HS384 or HS512) and sends it as
// client_assertion, with client_assertion_type
// [ClientAssertionTypeJWTBearer]. Add it to Config.ClientAuthMethods; it
// needs Config.ReplayCache and SealKey. The claims are checked as
// [PrivateKeyJWT] checks them, by the same code; only the key differs.
// When a server has both methods, an assertion whose header names an HMAC
// algorithm is client_secret_jwt's, any other private_key_jwt's.
//
// The trade-off: an HMAC is verified with the secret itself, which the
// server otherwise never keeps (Client.SecretHash is a one-way hash). A
// client uses this method only when registered with AuthMethod
// [AuthMethodClientSecretJWT] and its secret in Client.SealedSecret,
// encrypted with AES-256-GCM under SealKey and bound to its client ID by
// [SealClientSecret]. A copy of the database alone reveals no secret; a
// copy of the database and of SealKey reveals the secret of every such
// client, which hashes never would. Keep SealKey out of the database (in a
// secret manager, say), and prefer private_key_jwt, for which the server
// holds public keys only. Changing SealKey means sealing every secret
// again.
//
// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
// [§3]: https://www.rfc-editor.org/rfc/rfc7523#section-3
// [OpenID Connect Core 1.0 §9]: https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
type ClientSecretJWT struct {
	// SealKey is the SealKeySize-byte key that opens Client.SealedSecret.
	// Required.
	SealKey []byte
	// Algorithms lists the JWS algorithms accepted, among HS256, HS384 and
	// HS512; each needs a secret at least as long as its hash (32, 48, 64
	// bytes). Nil means all three.
	Algorithms []string
	// MaxLifetime bounds how far in the future an assertion's exp may be.
	// Zero means DefaultAssertionMaxLifetime.
	MaxLifetime time.Duration
}

// Name returns AuthMethodClientSecretJWT.
func (ClientSecretJWT) Name() string { return AuthMethodClientSecretJWT }

// Presented reports whether client_assertion_type is
// ClientAssertionTypeJWTBearer.
func (ClientSecretJWT) Presented(_ *http.Request, form url.Values) bool {
	return form.Get("client_assertion_type") == ClientAssertionTypeJWTBearer
}

// Authenticate returns an internal error: the method authenticates only as
// an entry of Config.ClientAuthMethods, which gives it the server's issuer,
// token endpoint and replay cache.
func (ClientSecretJWT) Authenticate(context.Context, *http.Request, url.Values, ClientStore) (*Client, error) {
	return nil, errors.New("oauthkit: ClientSecretJWT authenticates only through Config.ClientAuthMethods")
}

// SigningAlgorithms returns the accepted algorithms, for the metadata's
// token_endpoint_auth_signing_alg_values_supported.
func (m ClientSecretJWT) SigningAlgorithms() []string {
	if m.Algorithms == nil {
		return []string{"HS256", "HS384", "HS512"}
	}
	return slices.Clone(m.Algorithms)
}

// bind checks m and returns it bound to the server.
func (m ClientSecretJWT) bind(s *Server) (ClientAuthMethod, error) {
	switch {
	case len(m.SealKey) != SealKeySize:
		return nil, fmt.Errorf("oauthkit: ClientSecretJWT.SealKey must be a %d-byte key (it opens Client.SealedSecret)", SealKeySize)
	case m.MaxLifetime < 0:
		return nil, errors.New("oauthkit: ClientSecretJWT.MaxLifetime must not be negative")
	case m.Algorithms != nil && len(m.Algorithms) == 0:
		return nil, errors.New("oauthkit: ClientSecretJWT.Algorithms is empty")
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range m.SigningAlgorithms() {
		if hmacAlgorithms[a] == 0 {
			return nil, fmt.Errorf("oauthkit: ClientSecretJWT.Algorithms: %q is not HS256, HS384 or HS512", a)
		}
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	aead := sealAEAD(m.SealKey)
	return s.bindAssertionAuth("ClientSecretJWT", AuthMethodClientSecretJWT, algs, m.MaxLifetime,
		func(_ context.Context, client *Client, _, alg string) (any, error) {
			if len(client.SealedSecret) == 0 {
				return nil, &assertion.Refusal{Reason: "the client has no sealed secret"}
			}
			secret, err := openClientSecret(aead, client.ID, client.SealedSecret)
			if err != nil {
				return nil, fmt.Errorf("oauthkit: client %s: %w", client.ID, err)
			}
			if n := hmacAlgorithms[alg]; len(secret) < n {
				return nil, assertion.Refuse("signed with %s, which needs a secret of at least %d bytes", alg, n)
			}
			return secret, nil // never a public key: the algorithms are HMAC only
		})
}

// Sealed secrets are a version byte, a random nonce, and the secret
// encrypted and authenticated with AES-256-GCM, with the client ID as
// additional data: a sealed secret copied to another client does not open.
const (
	sealVersion = 1
	sealAD      = "oauthkit client secret\x00"
)

// SealClientSecret returns secret sealed for Client.SealedSecret of the
// client clientID, for [ClientSecretJWT] with the same key. The secret must
// be at least 32 bytes long, as HS256 requires (RFC 7518 §3.2; 48 for
// HS384, 64 for HS512): [GenerateSecret] makes such secrets.
func SealClientSecret(key []byte, clientID, secret string) ([]byte, error) {
	switch {
	case len(key) != SealKeySize:
		return nil, fmt.Errorf("oauthkit: a seal key is %d bytes", SealKeySize)
	case clientID == "":
		return nil, errors.New("oauthkit: sealing a client secret needs the client ID")
	case len(secret) < minGeneratedSecretLen:
		return nil, fmt.Errorf("oauthkit: a client secret for client_secret_jwt must be at least %d bytes", minGeneratedSecretLen)
	}
	aead := sealAEAD(key)
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(secret)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], []byte(secret), []byte(sealAD+clientID)), nil
}

// openClientSecret opens a secret that SealClientSecret sealed for
// clientID.
func openClientSecret(aead cipher.AEAD, clientID string, sealed []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("the sealed secret is malformed")
	}
	secret, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(sealAD+clientID))
	if err != nil {
		return nil, errors.New("the sealed secret does not open with this seal key and client ID")
	}
	return secret, nil
}

// sealAEAD returns AES-GCM with key, of SealKeySize bytes.
func sealAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the size is checked
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
