package bearer_test

import (
	"errors"
	"testing"

	"github.com/oauthkit/oauthkit/bearer"
)

// ParseAuthorization is the parser of internal/authheader, which has the
// full table and the fuzz target; this checks that the exported names lead
// there.
func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		value   string
		want    string
		wantErr bool
	}{
		{value: "Bearer mF_9.B5f-4.1JqM", want: "mF_9.B5f-4.1JqM"},
		{value: "bearer abc==", want: "abc=="},
		{value: "Basic YWxhZGRpbjpvcGVuc2VzYW1l", want: ""},
		{value: "Bearer", wantErr: true},
		{value: "Bearer a b", wantErr: true},
		{value: "B@sic abc", wantErr: true},
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
