package pkce_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/oauthkit/oauthkit/pkce"
)

// The whole exchange: the client keeps a verifier and sends its challenge
// with the authorization request; the server stores the challenge with the
// code and checks the verifier that comes with the token request.
func Example() {
	// Client, before redirecting to the authorization endpoint.
	verifier, err := pkce.GenerateVerifier(nil)
	if err != nil {
		log.Fatal(err)
	}
	challenge, method := pkce.Challenge(verifier), pkce.S256

	// Server, at the authorization endpoint.
	if !pkce.ValidChallenge(method, challenge) {
		log.Fatal("invalid_request: malformed code_challenge")
	}

	// Server, at the token endpoint: the client presents its verifier.
	fmt.Println(pkce.Verify(method, challenge, verifier))

	// An attacker holding the code but not the verifier.
	guess, _ := pkce.GenerateVerifier(nil)
	fmt.Println(errors.Is(pkce.Verify(method, challenge, guess), pkce.ErrMismatch))
	// Output:
	// <nil>
	// true
}

// The S256 challenge of the verifier of RFC 7636 Appendix B.
func ExampleChallenge() {
	fmt.Println(pkce.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	// Output: E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}

func ExampleGenerateVerifier() {
	verifier, err := pkce.GenerateVerifier(nil) // nil: crypto/rand
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(verifier), pkce.ValidVerifier(verifier))
	// Output: 43 true
}

func ExampleVerify() {
	const (
		verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	)
	fmt.Println(pkce.Verify(pkce.S256, challenge, verifier))
	fmt.Println(pkce.Verify(pkce.S256, challenge, "not-the-verifier-but-long-enough-to-be-well-formed"))
	fmt.Println(pkce.Verify(pkce.S256, challenge, "short"))
	fmt.Println(pkce.Verify("S512", challenge, verifier))
	// Output:
	// <nil>
	// pkce: code_verifier does not match code_challenge
	// pkce: code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]
	// pkce: unsupported code_challenge_method
}

func ExampleValidVerifier() {
	fmt.Println(pkce.ValidVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	fmt.Println(pkce.ValidVerifier("too-short"))
	fmt.Println(pkce.ValidVerifier("dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk")) // standard base64
	// Output:
	// true
	// false
	// false
}
