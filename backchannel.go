package oauthkit

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"

	"github.com/oauthkit/oauthkit/internal/formdata"
)

// backChannel serves what every back-channel endpoint shares (token,
// introspection, revocation, pushed authorization, device authorization):
// POST only, a bounded body read by the endpoint's codec (RFC 6749
// §3.2 form by default), no parameter twice but those repeatable returns
// for the request, one client authentication method (RFC 6749 §2.3), the
// rate limit (Config.RateLimiter), and answers with Cache-Control: no-store
// and, on error, the error response of RFC 6749 §5.2 (or the codec's). The
// endpoint supplies only serve, which returns the response of a 200 (nil
// for an empty one) or the error.
func (s *Server) backChannel(w http.ResponseWriter, r *http.Request, endpoint string,
	rules func(form url.Values) requestRules,
	serve func(ctx context.Context, r *http.Request, form url.Values, client *Client, codec Codec) (encoded, *Error)) {
	h := w.Header()
	h["Cache-Control"] = headerNoStore
	h["Pragma"] = headerNoCache
	ctx := r.Context()
	codec := s.cfg.Codecs.forEndpoint(endpoint)
	resp, oerr := func() (encoded, *Error) {
		form, oerr := s.readTokenForm(w, r, endpoint, codec)
		if oerr != nil {
			return encoded{}, oerr
		}
		rule := rules(form)
		if name := repeatedParam(form, rule.repeatable); name != "" {
			return encoded{}, ErrInvalidRequest.WithDescription("parameter %s repeated", name)
		}
		client, oerr := s.authenticateClient(ctx, r, form, rule.clientAuthOptional)
		if oerr != nil {
			return encoded{}, oerr
		}
		if oerr := s.rateLimit(ctx, w, RateLimitKey{Endpoint: endpoint, ClientID: client.ID, RemoteAddr: r.RemoteAddr}); oerr != nil {
			return encoded{}, oerr
		}
		return serve(ctx, r, form, client, codec)
	}()
	switch {
	case oerr != nil:
		s.writeTokenError(ctx, w, endpoint, codec, oerr)
	case codec != nil && resp.params != nil:
		codec.WriteResponse(w, resp.params)
	case resp.json != nil:
		status := resp.status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSONBody(w, status, *resp.json)
		putJSONBuffer(resp.json)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// encoded is the body of a successful back-channel response, as serve made
// it for the endpoint's codec: RFC 6749 JSON on the fast path (no codec),
// appended to jsonBuffer(); or parameters for the codec; neither for an
// empty body.
type encoded struct {
	json   *[]byte
	params []Param
	status int // of a JSON response: 0 for 200 OK, or 201 Created (RFC 9126 §2.2)
}

// jsonBuffers recycles the buffers of JSON responses: a response is written
// (copied) before its buffer goes back, so requests share a few buffers
// instead of allocating one each.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendJSONBuffer returns a buffer of jsonBuffers holding what appendJSON
// appends to it.
func appendJSONBuffer(appendJSON func([]byte) []byte) *[]byte {
	b := jsonBuffers.Get().(*[]byte)
	*b = appendJSON((*b)[:0])
	return b
}

// putJSONBuffer gives b back to jsonBuffers, unless it grew too large to
// keep.
func putJSONBuffer(b *[]byte) {
	if cap(*b) <= 16<<10 {
		jsonBuffers.Put(b)
	}
}

// requestRules are the rules of a back-channel request that depend on what
// it asks for (at the token endpoint, its grant type).
type requestRules struct {
	repeatable         map[string]bool // parameters allowed to repeat
	clientAuthOptional bool            // a client_id alone identifies any client (OptionalClientAuthentication)
}

// noRules are the rules of endpoints whose parameters never repeat and
// whose clients always authenticate.
func noRules(url.Values) requestRules { return requestRules{} }

// readTokenForm checks the method and reads the body, bounded by
// MaxRequestBytes, as a form or with the endpoint's codec. Query parameters are ignored (RFC 6749 §3.2),
// unless Config.InsecureAllowQueryParameters is set: they are then added to
// the body's, so that one sent in both places counts as repeated. endpoint
// names the endpoint in errors.
func (s *Server) readTokenForm(w http.ResponseWriter, r *http.Request, endpoint string, codec Codec) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		e := ErrInvalidRequest.WithDescription("the %s endpoint accepts only POST", endpoint)
		e.Status = http.StatusMethodNotAllowed
		return nil, e
	}
	var (
		form url.Values
		oerr *Error
	)
	switch {
	case s.cfg.InsecureAllowQueryParameters && r.URL.RawQuery != "" && r.ContentLength == 0 && r.Header.Get("Content-Type") == "":
		// A POST with no body at all (curl -X POST 'url?params'): its
		// parameters are the query's alone.
		form = url.Values{}
	case codec == nil:
		form, oerr = s.readForm(w, r)
	default:
		var body []byte
		if body, oerr = s.readBody(w, r); oerr == nil {
			form, oerr = codec.ReadRequest(r, body)
		}
	}
	if oerr != nil || !s.cfg.InsecureAllowQueryParameters || r.URL.RawQuery == "" {
		return form, oerr
	}
	query, err := formdata.Parse(r.URL.RawQuery)
	if err != nil {
		return nil, ErrInvalidRequest.WithDescription("malformed query")
	}
	for name, values := range query {
		form[name] = append(form[name], values...)
	}
	return form, nil
}

// writeTokenError writes the JSON error response of RFC 6749 §5.2, with the
// headers its status needs, and logs internal faults.
func (s *Server) writeTokenError(ctx context.Context, w http.ResponseWriter, endpoint string, codec Codec, oerr *Error) {
	s.logFault(ctx, endpoint, oerr)
	h := w.Header()
	if oerr.Code == ErrServerError.Code && errors.Is(oerr, ErrUnavailable) {
		// A store coming back, or too many slow secret verifications
		// waiting: RFC 6749 §5.2 has no code for it, HTTP has a status.
		c := *oerr
		c.Status = http.StatusServiceUnavailable
		oerr = &c
		h.Set("Retry-After", retryAfter)
	}
	if oerr.HTTPStatus() == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	if oerr.HTTPStatus() == http.StatusUnauthorized && oerr.Code == ErrInvalidClient.Code {
		h.Set("WWW-Authenticate", `Basic realm="`+s.cfg.Issuer+`"`)
	}
	if codec != nil {
		codec.WriteError(w, oerr)
		return
	}
	writeJSONError(w, oerr)
}
