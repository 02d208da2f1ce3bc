package oauthkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
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
	// their RFC names (client_id, grant_type, code_verifier). A body the
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
// string, an int64, a bool or a []string.
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

// ReadRequest reads one JSON object of string members.
func (c *JSONCodec) ReadRequest(r *http.Request, body []byte) (url.Values, *Error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, ErrInvalidRequest.WithDescription("content type must be application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ErrInvalidRequest.WithDescription("the body must be a JSON object")
	}
	params := url.Values{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, ErrInvalidRequest.WithDescription("malformed JSON")
		}
		name, _ := t.(string) // object keys are always strings
		rfc, ok := c.rfcName(name)
		switch {
		case !ok:
			return nil, ErrInvalidRequest.WithDescription("unknown member %q", name)
		case params.Has(rfc):
			return nil, ErrInvalidRequest.WithDescription("member %q repeated", name)
		}
		t, err = dec.Token()
		value, isString := t.(string)
		if err != nil || !isString {
			return nil, ErrInvalidRequest.WithDescription("member %q must be a string", name)
		}
		params.Set(rfc, value)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, ErrInvalidRequest.WithDescription("malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrInvalidRequest.WithDescription("data after the JSON object")
	}
	return params, nil
}

// rfcName returns the RFC name of the API's member name.
func (c *JSONCodec) rfcName(name string) (string, bool) {
	for rfc, api := range c.Names {
		if api == name {
			return rfc, true
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
	b := []byte{'{'}
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c.apiName(p.Name))
		b = append(b, ':')
		v, err := json.Marshal(p.Value)
		if err != nil { // only for values of a type Param does not allow
			v = []byte("null")
		}
		b = append(b, v...)
	}
	writeJSONBody(w, http.StatusOK, append(b, '}'))
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
