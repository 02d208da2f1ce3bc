package oauthkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Codec reads the requests of a back-channel endpoint and writes its
// answers, for hosts whose API is not RFC 6749's form in and snake_case
// JSON out (Config.Codecs; nil is RFC 6749, the fast path). The server
// reads the body, bounded by Config.MaxRequestBytes, before ReadRequest, and
// checks the parameters it returns as those of any request: names not
// repeated, client authentication, each endpoint's own rules.
//
// Implementations must be safe for concurrent use.
type Codec interface {
	// ReadRequest returns the parameters of a request with body, under
	// their RFC names (client_id, grant_type, code_verifier). body is the
	// codec's to keep or change: the server does not use it again. A body the
	// codec cannot read is an *Error, normally ErrInvalidRequest with a
	// description.
	ReadRequest(r *http.Request, body []byte) (url.Values, *Error)
	// WriteResponse writes a successful response whose members, under their
	// RFC names, are params, in order.
	WriteResponse(w http.ResponseWriter, params []Param)
	// WriteError writes the error response for e, with the status
	// e.HTTPStatus(). The server has set the headers the error needs
	// (Cache-Control, Allow, Retry-After, WWW-Authenticate).
	WriteError(w http.ResponseWriter, e *Error)
}

// Codecs are the codecs of the back-channel endpoints; nil means RFC 6749.
type Codecs struct {
	Token, Introspection, Revocation Codec
}

// forEndpoint returns the codec of the named back-channel endpoint.
func (c *Codecs) forEndpoint(endpoint string) Codec {
	switch endpoint {
	case "token":
		return c.Token
	case "introspection":
		return c.Introspection
	case "revocation":
		return c.Revocation
	}
	return nil
}

// Param is one member of a response, under its RFC name. Value is a
// string, an int64, a bool, a []string, or a map[string]any for a member
// that is a JSON object (RFC 8693's act, RFC 7800's cnf) whose values are of these
// types too.
type Param struct {
	Name  string
	Value any
}

// JSONCodec is a Codec for APIs that take a JSON object and name its
// members their own way, such as {"clientId": …, "grantType": …}. Every
// request member must be a string; a member not in Names, a member twice,
// another type, anything but one object, or a body that is not
// application/json is refused with invalid_request. Responses are JSON
// objects with the members named by Names too.
type JSONCodec struct {
	// Names maps RFC names (client_id, access_token, error) to the API's
	// (clientId, accessToken). A request member must be one of its values:
	// map a name to itself to take it as it is. A response member missing
	// from it keeps its RFC name.
	Names map[string]string
	// Error, if not nil, gives the status and JSON body of an error
	// response, for APIs with an error shape of their own. Nil writes
	// e.HTTPStatus() and the members error and error_description, named
	// by Names.
	Error func(e *Error) (status int, body any)

	once sync.Once
	rfc  map[string]string // API name → RFC name, from Names
}

// validate checks that Names maps every RFC name to a distinct, non-empty
// API name, so that each member means one parameter.
func (c *JSONCodec) validate() error {
	seen := make(map[string]string, len(c.Names))
	for rfc, api := range c.Names {
		if rfc == "" || api == "" {
			return errors.New("oauthkit: JSONCodec.Names has an empty name")
		}
		if other, dup := seen[api]; dup {
			return fmt.Errorf("oauthkit: JSONCodec.Names maps both %s and %s to %s", other, rfc, api)
		}
		seen[api] = rfc
	}
	return nil
}

// ReadRequest reads one JSON object of string members. Names must not
// change once the codec is in use.
func (c *JSONCodec) ReadRequest(r *http.Request, body []byte) (url.Values, *Error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, ErrInvalidRequest.WithDescription("content type must be application/json")
	}
	c.once.Do(func() {
		c.rfc = make(map[string]string, len(c.Names))
		for rfc, api := range c.Names {
			c.rfc[api] = rfc
		}
	})
	params := make(url.Values, len(c.Names))
	values := make([]string, 0, len(c.Names)) // one array for every value slice, as parseForm does
	oerr := readJSONObject(body, func(name, value string) *Error {
		rfc, ok := c.rfc[name]
		switch {
		case !ok:
			return ErrInvalidRequest.WithDescription("unknown member %q", name)
		case params.Has(rfc):
			return ErrInvalidRequest.WithDescription("member %q repeated", name)
		}
		values = append(values, value)
		n := len(values)
		params[rfc] = values[n-1 : n : n]
		return nil
	})
	if oerr != nil {
		return nil, oerr
	}
	return params, nil
}

// readJSONObject reads body as one JSON object (RFC 8259) whose members are
// all strings, calling member for each, in order. Anything else is
// invalid_request: another type, invalid UTF-8, a control character in a
// string, data after the object. Strings without escapes share body's
// memory, which the caller must not change.
func readJSONObject(body []byte, member func(name, value string) *Error) *Error {
	d := jsonScanner{b: body}
	if !d.expect('{') {
		return ErrInvalidRequest.WithDescription("the body must be a JSON object")
	}
	if !d.expect('}') {
		for {
			name, ok := d.string()
			if !ok || !d.expect(':') {
				return ErrInvalidRequest.WithDescription("malformed JSON")
			}
			value, ok := d.string()
			if !ok {
				return ErrInvalidRequest.WithDescription("member %q must be a string", name)
			}
			if oerr := member(name, value); oerr != nil {
				return oerr
			}
			if d.expect('}') {
				break
			}
			if !d.expect(',') {
				return ErrInvalidRequest.WithDescription("malformed JSON")
			}
		}
	}
	d.space()
	if d.i != len(d.b) {
		return ErrInvalidRequest.WithDescription("data after the JSON object")
	}
	return nil
}

// jsonScanner reads the little of JSON that readJSONObject accepts.
type jsonScanner struct {
	b []byte
	i int
}

// space skips JSON white space.
func (d *jsonScanner) space() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\n' || d.b[d.i] == '\r') {
		d.i++
	}
}

// expect skips white space and then c, reporting whether c was there.
func (d *jsonScanner) expect(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// string reads a JSON string after white space.
func (d *jsonScanner) string() (string, bool) {
	if !d.expect('"') {
		return "", false
	}
	start, escaped := d.i, false
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			raw := d.b[start:d.i]
			d.i++
			if escaped { // rare: let encoding/json decode the escapes
				var s string
				if err := json.Unmarshal(d.b[start-1:d.i], &s); err != nil || !utf8.Valid(raw) {
					return "", false
				}
				return s, true
			}
			if !utf8.Valid(raw) {
				return "", false
			}
			return unsafe.String(unsafe.SliceData(raw), len(raw)), true
		case c < 0x20:
			return "", false
		case c == '\\':
			escaped = true
			d.i++ // the escaped character, whatever it is, is no closing quote
		}
	}
	return "", false
}

// apiName returns the API's name of an RFC name.
func (c *JSONCodec) apiName(rfc string) string {
	if api, ok := c.Names[rfc]; ok {
		return api
	}
	return rfc
}

// WriteResponse writes params as one JSON object.
func (c *JSONCodec) WriteResponse(w http.ResponseWriter, params []Param) {
	b := make([]byte, 0, 512)
	b = append(b, '{')
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c.apiName(p.Name))
		b = append(b, ':')
		b = appendJSONValue(b, p.Value)
	}
	writeJSONBody(w, http.StatusOK, append(b, '}'))
}

// appendJSONValue appends v, a Param's value, as JSON: the common types
// without reflection.
func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	}
	j, err := json.Marshal(v)
	if err != nil { // a value of a type Param does not allow
		return append(b, "null"...)
	}
	return append(b, j...)
}

// WriteError writes the error response of e.
func (c *JSONCodec) WriteError(w http.ResponseWriter, e *Error) {
	if c.Error != nil {
		status, body := c.Error(e)
		writeJSON(w, status, body)
		return
	}
	body := map[string]string{c.apiName("error"): e.Code}
	if d := sanitizeDescription(e.Description); d != "" {
		body[c.apiName("error_description")] = d
	}
	writeJSON(w, e.HTTPStatus(), body)
}
