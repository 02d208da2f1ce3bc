package authheader_test

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit/internal/authheader"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		value   string
		want    string
		wantErr bool
	}{
		{value: "Bearer mF_9.B5f-4.1JqM", want: "mF_9.B5f-4.1JqM"},
		{value: "bearer mF_9.B5f-4.1JqM", want: "mF_9.B5f-4.1JqM"},
		{value: "bEaReR abc", want: "abc"},
		{value: "Bearer   abc", want: "abc"},
		{value: "Bearer a-b.c_d~e+f/g", want: "a-b.c_d~e+f/g"},
		{value: "Bearer abc==", want: "abc=="},
		{value: "Basic YWxhZGRpbjpvcGVuc2VzYW1l", want: ""},
		{value: "DPoP eyJhbGciOiJFUzI1NiJ9.e30.sig", want: ""},
		{value: "Bearerx abc", want: ""},
		{value: "Digest", want: ""},
		{value: "", wantErr: true},
		{value: " Bearer abc", wantErr: true},
		{value: "Bearer", wantErr: true},
		{value: "Bearer ", wantErr: true},
		{value: "Bearer abc ", wantErr: true},
		{value: "Bearer a b", wantErr: true},
		{value: "Bearer a=b", wantErr: true},
		{value: "Bearer ===", wantErr: true},
		{value: "Bearer =abc", wantErr: true},
		{value: `Bearer "abc"`, wantErr: true},
		{value: "Bearer abc,", wantErr: true},
		{value: "Bearer\tabc", wantErr: true},
		{value: "Bearer abc\r\n", wantErr: true},
		{value: "Bearer \xff", wantErr: true},
		{value: "B@sic abc", wantErr: true},
		{value: "(Bearer) abc", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := authheader.ParseBearer(tt.value)
			if tt.wantErr {
				if !errors.Is(err, authheader.ErrMalformed) {
					t.Fatalf("ParseBearer(%q) = %q, %v; want ErrMalformed", tt.value, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseBearer(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestToken(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // the Authorization header fields
		want    string
		wantErr error
	}{
		{name: "none", values: nil},
		{name: "bearer", values: []string{"Bearer abc"}, want: "abc"},
		{name: "basic", values: []string{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}},
		{name: "malformed", values: []string{"Bearer a b"}, wantErr: authheader.ErrMalformed},
		{name: "empty field", values: []string{""}, wantErr: authheader.ErrMalformed},
		{name: "two bearer fields", values: []string{"Bearer abc", "Bearer def"}, wantErr: authheader.ErrRepeated},
		{name: "bearer and basic", values: []string{"Bearer abc", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, wantErr: authheader.ErrRepeated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Authorization", v)
			}
			got, err := authheader.Token(h)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Token(%q) = %q, %v; want %q, %v", tt.values, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// The reference grammar, written independently of the parser as regular
// expressions: RFC 9110 §11.6.2 credentials, RFC 6750 §2.1 b64token.
var (
	schemeRe = regexp.MustCompile("^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: |$)")
	bearerRe = regexp.MustCompile(`^(?i:bearer) +([A-Za-z0-9._~+/-]+=*)$`)
)

// FuzzParseBearer checks the parser against the reference grammar: it
// never panics, returns exactly the token the grammar finds, refuses what
// the grammar refuses, and ignores other schemes. Its seed corpus is in
// testdata/fuzz/FuzzParseBearer.
func FuzzParseBearer(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string) {
		got, err := authheader.ParseBearer(value)
		if err != nil && !errors.Is(err, authheader.ErrMalformed) {
			t.Fatalf("ParseBearer(%q): error %v is not ErrMalformed", value, err)
		}
		var want string
		wantErr := false
		switch m := schemeRe.FindStringSubmatch(value); {
		case m == nil:
			wantErr = true
		case !strings.EqualFold(m[1], "bearer"):
			// another scheme: no token
		default:
			if b := bearerRe.FindStringSubmatch(value); b != nil {
				want = b[1]
			} else {
				wantErr = true
			}
		}
		if (err != nil) != wantErr || got != want {
			t.Fatalf("ParseBearer(%q) = %q, %v; want %q, error: %v", value, got, err, want, wantErr)
		}
		if got != "" {
			if again, err := authheader.ParseBearer("Bearer " + got); again != got || err != nil {
				t.Fatalf("token %q does not round-trip: %q, %v", got, again, err)
			}
			if !authheader.IsB64Token(got) {
				t.Fatalf("token %q is not a b64token", got)
			}
		}
	})
}
