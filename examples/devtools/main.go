// Command devtools is a sign-in token API for developer tools, after seed
// 003: a command-line tool signs its user in with the authorization code
// flow and PKCE, and trades the code at POST /v1/token, a JSON API with
// camelCase members, for short-lived credentials, an ID token and a refresh
// token bound to the tool's DPoP key.
//
//	go run ./examples/devtools                      # listens on 127.0.0.1:9130
//	go run ./examples/devtools -proof               # prints a DPoP proof of the demo key for /v1/token
//
// See README.md.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/pkce"
)

// demoVerifier is the PKCE verifier of the banner's requests.
const demoVerifier = "devtools-demo-verifier-0123456789-abcdefghijk"

func main() {
	addr := flag.String("addr", "127.0.0.1:9130", "address to listen on")
	issuer := flag.String("issuer", "", `issuer identifier (default "http://" + -addr)`)
	printProof := flag.Bool("proof", false, "print a DPoP proof of the demo key for the token endpoint, and exit")
	flag.Parse()
	if *issuer == "" {
		*issuer = "http://" + *addr
	}
	if *printProof {
		p, err := proof(demoKey(), http.MethodPost, *issuer+pathToken)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p)
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	a, err := newApp(config{Issuer: *issuer})
	if err != nil {
		log.Fatal(err)
	}
	printBanner(os.Stdout, *issuer)
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// printBanner prints the URLs, clients and user, and the document's
// requests ready to paste.
func printBanner(w io.Writer, issuer string) {
	authURL := issuer + pathAuthorize + "?" + url.Values{
		"response_type": {"code"}, "client_id": {clientCrossDevice}, "redirect_uri": {issuer + pathConfirmation},
		"scope": {"openid"}, "state": {"demo"}, "code_challenge": {pkce.Challenge(demoVerifier)}, "code_challenge_method": {"S256"},
	}.Encode()
	exchange, _ := json.Marshal(map[string]string{"clientId": clientCrossDevice, "grantType": "authorization_code",
		"code": "CODE", "codeVerifier": demoVerifier, "redirectUri": issuer + pathConfirmation})
	refresh, _ := json.Marshal(map[string]string{"clientId": clientCrossDevice, "grantType": "refresh_token", "refreshToken": "REFRESH_TOKEN"})
	curl := func(body []byte) string {
		return fmt.Sprintf(`curl -s %s%s -H 'Content-Type: application/json' -H "DPoP: $(go run ./examples/devtools -proof -issuer %s)" -d '%s'`,
			issuer, pathToken, issuer, body)
	}
	fmt.Fprintf(w, `devtools sign-in service at %s
  authorize  %s%s
  token      %s%s   (JSON; a DPoP proof in every request)
  metadata   %s%s
clients (public, PKCE S256 and DPoP required):
  %s   redirect URI http://127.0.0.1:{any port}/oauth/callback
  %s  redirect URI %s%s (shows the code)
user alice, password wonderland

1. Open in a browser, sign in, copy the code:
   %s
2. Exchange it (replace CODE):
   %s
3. Refresh (replace REFRESH_TOKEN; the proof's key must be the same):
   %s
`, issuer, issuer, pathAuthorize, issuer, pathToken, issuer, pathMetadata,
		clientSameDevice, clientCrossDevice, issuer, pathConfirmation, authURL, curl(exchange), curl(refresh))
}

// demoKey is the banner's DPoP key, the same in every run so that
// -proof signs with the key a refresh token is bound to. Never use a key
// anyone can derive outside a demo.
func demoKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("oauthkit devtools example demo DPoP key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// proof returns a DPoP proof (RFC 9449 §4) of key for a request of method
// to htu.
func proof(key ed25519.PrivateKey, method, htu string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, &jose.SignerOptions{
		ExtraHeaders: map[jose.HeaderKey]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: key.Public()}},
	})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": time.Now().Unix()})
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
