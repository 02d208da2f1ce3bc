package formdata

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestParse checks Parse against url.ParseQuery, whose semantics it
// keeps, on the cases that matter to a token request.
func TestParse(t *testing.T) {
	for _, s := range []string{
		"", "a=1", "a=1&b=2", "a=1&a=2&b=3", "a", "a=", "=1", "&&a=1&&", "a=%41%20b+c", "a=1;b=2", "a=%zz",
		"%zz=1", "a=1&b=%", "grant_type=client_credentials&scope=read%20write", "a=1&a=2&a=3&b=4&a=5",
	} {
		want, wantErr := url.ParseQuery(s)
		got, err := Parse(s)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("Parse(%q) error = %v, url.ParseQuery's %v", s, err, wantErr)
			continue
		}
		if err == nil && !cmp.Equal(want, got, cmpopts.EquateEmpty()) {
			t.Errorf("Parse(%q) = %v, url.ParseQuery's %v", s, got, want)
		}
	}
	// Appending to one parameter's values never changes another's.
	form, err := Parse("a=1&b=2")
	if err != nil {
		t.Fatal(err)
	}
	form["a"] = append(form["a"], "x")
	if form.Get("b") != "2" {
		t.Errorf("appending to a changed b: %v", form)
	}
}

// FuzzParse checks Parse against url.ParseQuery on any input: the
// same values, or an error for both.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := url.ParseQuery(s)
		got, err := Parse(s)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Parse(%q) error = %v, url.ParseQuery's %v", s, err, wantErr)
		}
		if err == nil && !cmp.Equal(want, got, cmpopts.EquateEmpty()) {
			t.Fatalf("Parse(%q) = %v, url.ParseQuery's %v", s, got, want)
		}
	})
}
