package pkce_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/pkce"
)

// appendixB is the test vector of RFC 7636 Appendix B, as kept in testdata.
type appendixB struct {
	VerifierOctets      []int  `json:"verifier_octets"`
	CodeVerifier        string `json:"code_verifier"`
	ChallengeOctets     []int  `json:"challenge_octets"`
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"`
}

// loadAppendixB reads the RFC 7636 Appendix B vector from testdata.
func loadAppendixB(t *testing.T) (v appendixB, verifierOctets, challengeOctets []byte) {
	t.Helper()
	data, err := os.ReadFile("testdata/rfc7636_appendix_b.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return v, octets(t, v.VerifierOctets), octets(t, v.ChallengeOctets)
}

func octets(t *testing.T, ints []int) []byte {
	t.Helper()
	b := make([]byte, len(ints))
	for i, n := range ints {
		if n < 0 || n > 255 {
			t.Fatalf("testdata: octet %d out of range", n)
		}
		b[i] = byte(n)
	}
	return b
}

// unreservedChars are the characters RFC 7636 §4.1 allows in a code
// verifier: ALPHA / DIGIT / "-" / "." / "_" / "~".
const unreservedChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// TestAppendixB checks the package against the worked example of RFC 7636
// Appendix B, step by step.
func TestAppendixB(t *testing.T) {
	v, verifierOctets, challengeOctets := loadAppendixB(t)
	if v.CodeChallengeMethod != pkce.S256 {
		t.Fatalf("testdata method = %q, want %q", v.CodeChallengeMethod, pkce.S256)
	}

	t.Run("octets to verifier", func(t *testing.T) {
		// GenerateVerifier base64url-encodes 32 octets from its reader.
		got, err := pkce.GenerateVerifier(bytes.NewReader(verifierOctets))
		if err != nil {
			t.Fatal(err)
		}
		if got != v.CodeVerifier {
			t.Errorf("GenerateVerifier(Appendix B octets) = %q, want %q", got, v.CodeVerifier)
		}
	})
	t.Run("verifier to challenge", func(t *testing.T) {
		if got := pkce.Challenge(v.CodeVerifier); got != v.CodeChallenge {
			t.Errorf("Challenge(%q) = %q, want %q", v.CodeVerifier, got, v.CodeChallenge)
		}
		// The intermediate SHA-256 octets the RFC lists, for a vector whose
		// parts are checked against each other.
		sum := sha256.Sum256([]byte(v.CodeVerifier))
		if diff := cmp.Diff(challengeOctets, sum[:]); diff != "" {
			t.Errorf("SHA-256 of the verifier differs from Appendix B (-rfc +got):\n%s", diff)
		}
		if got := base64.RawURLEncoding.EncodeToString(challengeOctets); got != v.CodeChallenge {
			t.Errorf("base64url of the Appendix B hash = %q, want %q", got, v.CodeChallenge)
		}
	})
	t.Run("server side", func(t *testing.T) {
		if !pkce.ValidVerifier(v.CodeVerifier) {
			t.Errorf("ValidVerifier(%q) = false", v.CodeVerifier)
		}
		if !pkce.ValidChallenge(v.CodeChallengeMethod, v.CodeChallenge) {
			t.Errorf("ValidChallenge(%q, %q) = false", v.CodeChallengeMethod, v.CodeChallenge)
		}
		if err := pkce.Verify(v.CodeChallengeMethod, v.CodeChallenge, v.CodeVerifier); err != nil {
			t.Errorf("Verify(Appendix B) = %v, want nil", err)
		}
	})
}

func TestValidVerifier(t *testing.T) {
	tests := []struct {
		name     string
		verifier string
		want     bool
	}{
		{"empty", "", false},
		{"42 characters", strings.Repeat("a", 42), false},
		{"43 characters", strings.Repeat("a", 43), true},
		{"128 characters", strings.Repeat("a", 128), true},
		{"129 characters", strings.Repeat("a", 129), false},
		{"every unreserved character", unreservedChars, true},
		{"base64url of 32 octets", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", true},
		{"plus (standard base64)", strings.Repeat("a", 42) + "+", false},
		{"slash (standard base64)", strings.Repeat("a", 42) + "/", false},
		{"padding", strings.Repeat("a", 42) + "=", false},
		{"space", strings.Repeat("a", 21) + " " + strings.Repeat("a", 21), false},
		{"percent-encoded", strings.Repeat("a", 40) + "%41", false},
		{"NUL", strings.Repeat("a", 42) + "\x00", false},
		{"DEL", strings.Repeat("a", 42) + "\x7f", false},
		// 41 ASCII characters and a two-byte é: 43 bytes, not all allowed.
		{"non-ASCII", strings.Repeat("a", 41) + "é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pkce.ValidVerifier(tt.verifier); got != tt.want {
				t.Errorf("ValidVerifier(%q) = %v, want %v", tt.verifier, got, tt.want)
			}
		})
	}
}

// TestValidVerifierCharset tries every byte value in a verifier of valid
// length: only the unreserved characters of RFC 7636 §4.1 pass.
func TestValidVerifierCharset(t *testing.T) {
	for b := range 256 {
		v := strings.Repeat("a", 21) + string([]byte{byte(b)}) + strings.Repeat("a", 21)
		want := strings.IndexByte(unreservedChars, byte(b)) >= 0
		if got := pkce.ValidVerifier(v); got != want {
			t.Errorf("ValidVerifier with byte %#02x = %v, want %v", b, got, want)
		}
	}
}

func TestValidChallenge(t *testing.T) {
	const rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	tests := []struct {
		name      string
		method    string
		challenge string
		want      bool
	}{
		{"S256 from Appendix B", pkce.S256, rfcChallenge, true},
		{"S256 of 42 characters", pkce.S256, rfcChallenge[:42], false},
		{"S256 of 44 characters", pkce.S256, rfcChallenge + "A", false},
		{"S256 padded", pkce.S256, rfcChallenge + "=", false},
		{"S256 empty", pkce.S256, "", false},
		// Unreserved, so a valid verifier, but not base64url.
		{"S256 with tilde", pkce.S256, rfcChallenge[:42] + "~", false},
		{"S256 with dot", pkce.S256, "." + rfcChallenge[1:], false},
		{"S256 standard base64", pkce.S256, "+" + rfcChallenge[1:], false},
		{"plain of 43 characters", pkce.Plain, strings.Repeat("~", 43), true},
		{"plain of 128 characters", pkce.Plain, strings.Repeat("a", 128), true},
		{"plain of 42 characters", pkce.Plain, strings.Repeat("a", 42), false},
		{"plain of 129 characters", pkce.Plain, strings.Repeat("a", 129), false},
		{"plain with a reserved character", pkce.Plain, strings.Repeat("a", 42) + "/", false},
		{"empty method", "", rfcChallenge, false},
		{"lower-case s256", "s256", rfcChallenge, false},
		{"unknown method", "S512", rfcChallenge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pkce.ValidChallenge(tt.method, tt.challenge); got != tt.want {
				t.Errorf("ValidChallenge(%q, %q) = %v, want %v", tt.method, tt.challenge, got, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	const (
		verifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		challenge    = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
		longVerifier = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-._~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	)
	other := strings.Repeat("x", 43)
	tests := []struct {
		name      string
		method    string
		challenge string
		verifier  string
		want      error
	}{
		{"S256 match", pkce.S256, challenge, verifier, nil},
		{"S256 match of a 128-character verifier", pkce.S256, pkce.Challenge(longVerifier), longVerifier, nil},
		{"plain match", pkce.Plain, verifier, verifier, nil},
		{"S256 mismatch", pkce.S256, challenge, other, pkce.ErrMismatch},
		{"S256 with the verifier as challenge", pkce.S256, verifier, verifier, pkce.ErrMismatch},
		{"S256 with an empty challenge", pkce.S256, "", verifier, pkce.ErrMismatch},
		{"S256 with a prefix of the challenge", pkce.S256, challenge[:42], verifier, pkce.ErrMismatch},
		{"plain mismatch", pkce.Plain, verifier, other, pkce.ErrMismatch},
		// A client that hashed when it said plain, or a downgrade.
		{"plain with the S256 challenge", pkce.Plain, challenge, verifier, pkce.ErrMismatch},
		{"plain with an empty challenge", pkce.Plain, "", verifier, pkce.ErrMismatch},
		{"empty method", "", verifier, verifier, pkce.ErrUnsupportedMethod},
		{"lower-case s256", "s256", challenge, verifier, pkce.ErrUnsupportedMethod},
		{"unknown method", "S512", challenge, verifier, pkce.ErrUnsupportedMethod},
		{"empty verifier", pkce.S256, challenge, "", pkce.ErrMalformedVerifier},
		{"42-character verifier", pkce.S256, pkce.Challenge(verifier[:42]), verifier[:42], pkce.ErrMalformedVerifier},
		{"129-character verifier", pkce.S256, pkce.Challenge(longVerifier + "a"), longVerifier + "a", pkce.ErrMalformedVerifier},
		// Equal strings do not make a short or odd verifier acceptable.
		{"plain with a short verifier equal to the challenge", pkce.Plain, "abc", "abc", pkce.ErrMalformedVerifier},
		{"plain with a reserved character", pkce.Plain, verifier[:42] + "/", verifier[:42] + "/", pkce.ErrMalformedVerifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pkce.Verify(tt.method, tt.challenge, tt.verifier); !errors.Is(got, tt.want) {
				t.Errorf("Verify(%q, %q, %q) = %v, want %v", tt.method, tt.challenge, tt.verifier, got, tt.want)
			}
		})
	}
}

func TestGenerateVerifier(t *testing.T) {
	t.Run("crypto/rand", func(t *testing.T) {
		a, err := pkce.GenerateVerifier(nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pkce.GenerateVerifier(nil)
		if err != nil {
			t.Fatal(err)
		}
		// RFC 7636 §7.1: 32 random octets, base64url: 43 characters.
		for _, v := range []string{a, b} {
			if len(v) != 43 || !pkce.ValidVerifier(v) {
				t.Errorf("GenerateVerifier(nil) = %q, want 43 unreserved characters", v)
			}
			if err := pkce.Verify(pkce.S256, pkce.Challenge(v), v); err != nil {
				t.Errorf("Verify of a generated verifier and its challenge = %v", err)
			}
		}
		if a == b {
			t.Errorf("two generated verifiers are equal: %q", a)
		}
	})

	failure := errors.New("entropy source failed")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"failing reader", iotest.ErrReader(failure), failure},
		{"empty reader", bytes.NewReader(nil), io.EOF},
		{"reader with 31 octets", bytes.NewReader(make([]byte, 31)), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := pkce.GenerateVerifier(tt.r)
			if !errors.Is(err, tt.want) || v != "" {
				t.Errorf("GenerateVerifier = %q, %v; want \"\", %v", v, err, tt.want)
			}
		})
	}

	t.Run("reads only 32 octets", func(t *testing.T) {
		src := bytes.NewReader(make([]byte, 100))
		if _, err := pkce.GenerateVerifier(src); err != nil {
			t.Fatal(err)
		}
		if src.Len() != 100-32 {
			t.Errorf("GenerateVerifier consumed %d octets, want 32", 100-src.Len())
		}
	})
}

// FuzzVerify checks Verify and its helpers on arbitrary input: no panics, a
// verifier always verifies against its own challenge exactly when it is
// well formed, and malformed verifiers are refused before anything else.
func FuzzVerify(f *testing.F) {
	f.Add("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", pkce.S256)
	f.Add("short", "short", pkce.Plain)
	f.Add(strings.Repeat("~", 128), "", "")
	f.Add(strings.Repeat("a", 42)+"é", "x", "S512")
	f.Fuzz(func(t *testing.T, verifier, challenge, method string) {
		err := pkce.Verify(method, challenge, verifier)
		valid := pkce.ValidVerifier(verifier)
		if !valid && !errors.Is(err, pkce.ErrMalformedVerifier) {
			t.Errorf("Verify with malformed verifier %q = %v, want ErrMalformedVerifier", verifier, err)
		}
		if valid && method != pkce.S256 && method != pkce.Plain && !errors.Is(err, pkce.ErrUnsupportedMethod) {
			t.Errorf("Verify with method %q = %v, want ErrUnsupportedMethod", method, err)
		}
		own := pkce.Challenge(verifier)
		if !pkce.ValidChallenge(pkce.S256, own) {
			t.Errorf("ValidChallenge(S256, Challenge(%q)) = false", verifier)
		}
		for m, c := range map[string]string{pkce.S256: own, pkce.Plain: verifier} {
			if err := pkce.Verify(m, c, verifier); (err == nil) != valid {
				t.Errorf("Verify(%s, own challenge, %q) = %v, ValidVerifier = %v", m, verifier, err, valid)
			}
		}
		if err == nil && (challenge != own || method != pkce.S256) && (challenge != verifier || method != pkce.Plain) {
			t.Errorf("Verify(%q, %q, %q) accepted a challenge the verifier does not produce", method, challenge, verifier)
		}
	})
}
