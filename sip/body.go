package sip

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// The session description of an INVITE (or re-INVITE). RFC 3261 20.15 has
// the body's type in Content-Type; the gateway reads application/sdp, alone
// or as a part of a multipart/mixed (or multipart/alternative) body (RFC
// 5621: an INVITE may carry SDP next to ISUP, a location object, a
// resource list). Any other type is answered 415 with Accept (RFC 3261
// 21.4.13), never read as SDP because it happens to parse.

// maxMultipartDepth bounds nested multipart bodies; maxParts the parts read.
const (
	maxMultipartDepth = 3
	maxParts          = 16
)

// errNoSDPPart: a multipart body without a session description.
var errNoSDPPart = errors.New("no application/sdp part")

// unsupportedBody answers a body the gateway cannot read: 415 listing the
// type it reads (RFC 3261 21.4.13), with a Warning saying what was wrong.
func unsupportedBody(why string) error {
	return &reply{code: 415, reason: "Unsupported Media Type", why: why, headers: []gosip.Header{
		gosip.NewHeader("Accept", acceptedTypes),
		gosip.NewHeader("Warning", warning(why)),
	}}
}

// errBodyEncoding answers a Content-Encoding other than identity: RFC 3261
// 21.4.13 has the 415 list the encodings understood in Accept-Encoding.
var errBodyEncoding = &reply{code: 415, reason: "Unsupported Media Type", why: "content encoding", headers: []gosip.Header{
	gosip.NewHeader("Accept-Encoding", "identity"),
	gosip.NewHeader("Warning", warning("only identity content encoding is understood")),
}}

// errMissingContentType: RFC 3261 20.15 requires Content-Type with a body.
var errMissingContentType = &reply{code: 400, reason: "Missing Content-Type", why: "body without Content-Type"}

// sessionBody returns the SDP of req: its body when that is application/sdp,
// the session part of a multipart body, or nil when there is no body. The
// error is the answer to a body the gateway cannot use.
func sessionBody(req *gosip.Request) ([]byte, error) {
	body := req.Body()
	if len(body) == 0 {
		return nil, nil
	}
	for _, h := range req.GetHeaders("Content-Encoding") {
		for enc := range strings.SplitSeq(h.Value(), ",") {
			if e := strings.TrimSpace(enc); e != "" && !strings.EqualFold(e, "identity") {
				return nil, errBodyEncoding
			}
		}
	}
	ct := req.ContentType()
	if ct == nil {
		return nil, errMissingContentType
	}
	sdp, err := sdpOf(ct.Value(), body, 0)
	switch {
	case errors.Is(err, errNoSDPPart):
		return nil, unsupportedBody("multipart body without an application/sdp session part")
	case err != nil:
		return nil, unsupportedBody(err.Error())
	}
	return sdp, nil
}

// sdpOf finds the session description in a body of type contentType.
func sdpOf(contentType string, body []byte, depth int) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, errors.New("unreadable Content-Type")
	}
	switch mt {
	case "application/sdp":
		return body, nil
	case "multipart/mixed", "multipart/alternative":
		if depth >= maxMultipartDepth {
			return nil, errors.New("multipart nested too deep")
		}
		return sdpPart(body, params["boundary"], mt == "multipart/alternative", depth)
	}
	return nil, errors.New("body type " + truncate(mt, 64) + " not understood")
}

// sdpPart reads a multipart body (RFC 2046 5.1) and returns its session
// description: the application/sdp part whose Content-Disposition is
// session or absent (RFC 3261 20.11, RFC 5621 3.2: early-session and other
// SDP parts are not the session). Of several, multipart/mixed takes the
// first, multipart/alternative the last (RFC 2046 5.1.4: the last is the
// richest). A part the gateway does not understand is skipped unless it
// says handling=required (RFC 3261 20.11, RFC 5621 9.1), which makes the
// whole body unsupported.
func sdpPart(body []byte, boundary string, alternative bool, depth int) ([]byte, error) {
	if boundary == "" {
		return nil, errors.New("multipart body without boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	var found []byte
	for range maxParts {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errors.New("malformed multipart body")
		}
		sdp, required, err := readPart(p, depth)
		if err != nil {
			return nil, err
		}
		switch {
		case sdp != nil && (found == nil || alternative):
			found = sdp
		case sdp == nil && required:
			return nil, errors.New("a part with handling=required is not understood")
		}
	}
	if found == nil {
		return nil, errNoSDPPart
	}
	return found, nil
}

// readPart returns the session description a part holds (nil if none) and
// whether the part says handling=required.
func readPart(p *multipart.Part, depth int) (sdp []byte, required bool, err error) {
	disposition, handling := "", ""
	if d := p.Header.Get("Content-Disposition"); d != "" {
		dt, dp, derr := mime.ParseMediaType(d)
		if derr != nil {
			return nil, false, errors.New("unreadable Content-Disposition in a multipart part")
		}
		disposition, handling = dt, strings.ToLower(dp["handling"])
	}
	required = handling == "required"
	if disposition != "" && disposition != "session" {
		return nil, required, nil
	}
	// RFC 2046 5.1: a part without Content-Type is text/plain.
	mt, _, perr := mime.ParseMediaType(p.Header.Get("Content-Type"))
	if perr != nil || (mt != "application/sdp" && mt != "multipart/mixed" && mt != "multipart/alternative") {
		return nil, required, nil // not ours to read: skipped if optional
	}
	data, err := io.ReadAll(io.LimitReader(p, maxPartBytes+1))
	if err != nil || len(data) > maxPartBytes {
		return nil, false, errors.New("malformed multipart body")
	}
	if data, err = decodePart(p.Header, data); err != nil {
		return nil, false, err
	}
	sdp, err = sdpOf(p.Header.Get("Content-Type"), data, depth+1)
	if errors.Is(err, errNoSDPPart) {
		return nil, required, nil
	}
	return sdp, required, err
}

// maxPartBytes bounds one part (the intake bounds the whole body too).
const maxPartBytes = 64 << 10

// decodePart undoes a part's Content-Transfer-Encoding (RFC 2045 6): SIP
// bodies are binary (RFC 3261 7.4), but base64 and quoted-printable are
// legal in MIME parts.
func decodePart(h textproto.MIMEHeader, data []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "", "binary", "7bit", "8bit":
		return data, nil
	case "base64":
		out, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Map(dropSpace, data))))
		if err != nil {
			return nil, errors.New("bad base64 in a multipart part")
		}
		return out, nil
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
		if err != nil {
			return nil, errors.New("bad quoted-printable in a multipart part")
		}
		return out, nil
	}
	return nil, errors.New("unknown Content-Transfer-Encoding in a multipart part")
}

func dropSpace(r rune) rune {
	if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
		return -1
	}
	return r
}
