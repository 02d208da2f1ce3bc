// Package formdata reads application/x-www-form-urlencoded data: the one form
// reader of the authorization server and of package bearer.
package formdata

import (
	"errors"
	"net/url"
	"strings"
)

// maxFormParams bounds the parameters of one request, as url.ParseQuery
// does by default.
const maxFormParams = 10000

// ErrMalformed is Parse's error; callers answer invalid_request.
var ErrMalformed = errors.New("oauthkit: malformed application/x-www-form-urlencoded data")

// Parse parses application/x-www-form-urlencoded data (RFC 6749
// Appendix B) as url.ParseQuery does, and refuses what it refuses: a
// semicolon separator, a bad escape, more than maxFormParams parameters.
// The value slices are carved out of one array, so that a request's
// parameters cost two allocations (the map and the values) instead of one
// more per parameter; a parameter's slice has no spare capacity, so that
// appending to it never writes over another's.
func Parse(s string) (url.Values, error) {
	n := strings.Count(s, "&") + 1
	if n > maxFormParams {
		return nil, ErrMalformed
	}
	form := make(url.Values, n)
	values := make([]string, 0, n)
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if strings.Contains(pair, ";") {
			return nil, ErrMalformed
		}
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(key)
		value, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			return nil, ErrMalformed
		}
		if old, ok := form[key]; ok {
			form[key] = append(old, value)
			continue
		}
		values = append(values, value)
		i := len(values)
		form[key] = values[i-1 : i : i]
	}
	return form, nil
}
