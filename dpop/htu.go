package dpop

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// NormalizeHTU returns the form in which a proof's htu and a request's URL
// are compared (RFC 9449 §4.3): the URL without query and fragment, with
// the syntax-based and scheme-based normalizations of RFC 3986 §6.2.2 and
// §6.2.3:
//
//   - scheme and host in lower case; the scheme must be http or https, the
//     host non-empty, and user information absent;
//   - the port omitted if it is the scheme's default (80, 443) or empty,
//     otherwise written in decimal without leading zeros;
//   - in the path, percent-encoded unreserved characters decoded, other
//     percent-encodings in upper case, dot segments removed, and an empty
//     path written "/".
//
// Nothing else is changed: "/token" and "/token/" differ, so do "/a%2Fb"
// and "/a/b".
func NormalizeHTU(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	var defaultPort string
	switch scheme {
	case "https":
		defaultPort = "443"
	case "http":
		defaultPort = "80"
	default:
		return "", errors.New("not an http or https URL")
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Opaque != "" || host == "":
		return "", errors.New("no host")
	case u.User != nil:
		return "", errors.New("user information in a URL")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return "", errors.New("invalid port")
		}
		if port = strconv.FormatUint(n, 10); port != defaultPort {
			host = net.JoinHostPort(strings.Trim(host, "[]"), port)
		}
	}
	path := removeDotSegments(normalizePercents(u.EscapedPath()))
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// normalizePercents decodes the percent-encoded unreserved characters of
// an escaped path and writes the other percent-encodings in upper case
// (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePercents(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			b.WriteByte(p[i])
			continue
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if unreserved(c) {
			b.WriteByte(c)
		} else {
			const upper = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(upper[c>>4])
			b.WriteByte(upper[c&15])
		}
		i += 2
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string // segments, each with its leading "/" if any
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			out = out[:max(len(out)-1, 0)]
		case in == "/..":
			in = "/"
			out = out[:max(len(out)-1, 0)]
		case in == "." || in == "..":
			in = ""
		default:
			end := strings.IndexByte(in[1:], '/') + 1
			if end == 0 {
				end = len(in)
			}
			out = append(out, in[:end])
			in = in[end:]
		}
	}
	return strings.Join(out, "")
}
