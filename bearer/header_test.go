package bearer_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthkit/oauthkit/bearer"
)

func TestParseAuthorization(t *testing.T) {
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
			got, err := bearer.ParseAuthorization(tt.value)
			if tt.wantErr {
				if !errors.Is(err, bearer.ErrMalformedRequest) {
					t.Fatalf("ParseAuthorization(%q) = %q, %v; want ErrMalformedRequest", tt.value, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseAuthorization(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
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

// FuzzParseAuthorization checks the parser against the reference grammar:
// it never panics, returns exactly the token the grammar finds, refuses what
// the grammar refuses, and ignores other schemes.
func FuzzParseAuthorization(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string) {
		got, err := bearer.ParseAuthorization(value)
		if err != nil && !errors.Is(err, bearer.ErrMalformedRequest) {
			t.Fatalf("ParseAuthorization(%q): error %v does not wrap ErrMalformedRequest", value, err)
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
			t.Fatalf("ParseAuthorization(%q) = %q, %v; want %q, error: %v", value, got, err, want, wantErr)
		}
		if got != "" {
			if again, err := bearer.ParseAuthorization("Bearer " + got); again != got || err != nil {
				t.Fatalf("token %q does not round-trip: %q, %v", got, again, err)
			}
		}
	})
}
