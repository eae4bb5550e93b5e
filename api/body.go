package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/teamline/teamline/directory"
)

// writeJSON writes v as the JSON response. v is marshalled before anything
// is sent, so a marshalling error still becomes a clean 500 problem.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// readBody reads a JSON request body of at most the server's limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if !jsonMediaType(r.Header.Get("Content-Type")) {
		if r.Method == http.MethodPatch {
			w.Header().Set("Accept-Patch", "application/json, application/merge-patch+json")
		} else {
			w.Header().Set("Accept-Post", "application/json")
		}
		return nil, newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"send the request body as Content-Type: application/json")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var mbe *http.MaxBytesError
	if err != nil && !errors.As(err, &mbe) {
		// The body broke off before its Content-Length, its chunked framing
		// is broken, or the client stopped sending: the client's fault.
		return nil, newProblem(http.StatusBadRequest, "unreadable-body", "the request body could not be read: "+err.Error())
	}
	return b, err
}

// jsonMediaType accepts application/json and JSON merge patch
// (application/merge-patch+json, RFC 7396), the types Accept-Post and
// Accept-Patch announce. Other +json types, JSON Patch (RFC 6902) above
// all, are not what the handlers decode, and JSON is UTF-8 (RFC 8259
// section 8.1), so another charset is refused too.
func jsonMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return false
	}
	return mt == "application/json" || mt == "application/merge-patch+json"
}

// decodeInto decodes a JSON object onto *dst, which may already hold the
// stored object (PATCH) or be zero (POST). It is a JSON merge patch
// (RFC 7396) for top-level fields: every top-level field the body names is
// reset and then decoded, so given maps, slices and nested objects replace
// the stored ones whole, null clears a field, and fields the body does not
// name keep their value. Fields named in readOnly (id, created_at, ...)
// keep the value *dst had. Unknown fields are an error.
func decodeInto(body []byte, dst any, readOnly ...string) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return newProblem(http.StatusBadRequest, "malformed-json", "the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		// encoding/json would quietly turn the bytes into U+FFFD and the
		// mangled text would be stored (RFC 8259 section 8.1: JSON is UTF-8).
		return newProblem(http.StatusBadRequest, "malformed-json", "the request body is not valid UTF-8")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return jsonProblem(err)
	}
	if keys == nil { // "null"
		return notAnObject()
	}
	v := reflect.ValueOf(dst).Elem()
	old := reflect.New(v.Type()).Elem()
	old.Set(v)
	named := map[int]string{} // field index -> the key that names it
	for _, k := range objectKeys(body) {
		i, ok := jsonField(v.Type(), k)
		if !ok {
			continue // unknown: the decoder below says so
		}
		if prev, dup := named[i]; dup {
			// encoding/json would merge the two values of a map or
			// struct field instead of letting the last replace the first.
			return newProblem(http.StatusBadRequest, "malformed-json", fmt.Sprintf("field %q is given twice (as %q and %q)", k, prev, k),
				directory.FieldError{Field: k, Detail: "is given twice"})
		}
		named[i] = k
		v.Field(i).SetZero()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	for _, name := range readOnly {
		if i, ok := jsonField(v.Type(), name); ok {
			v.Field(i).Set(old.Field(i))
		}
	}
	return nil
}

// objectKeys lists the top-level keys of a JSON object in order, repeats
// included. body has been checked to be one.
func objectKeys(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return keys
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// jsonField finds the struct field encoding/json decodes key into: exact
// name first, then case-insensitively, as encoding/json does.
func jsonField(t reflect.Type, key string) (int, bool) {
	fold := -1
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return i, true
		}
		if fold < 0 && strings.EqualFold(name, key) {
			fold = i
		}
	}
	return fold, fold >= 0
}

func notAnObject() *Problem {
	return newProblem(http.StatusBadRequest, "malformed-json", "the request body must be a JSON object")
}

// jsonProblem explains a decoding error: where the JSON broke, or which
// field is unknown or has the wrong type. Every decoding error is the
// client's (400), never a 500.
func jsonProblem(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return newProblem(http.StatusBadRequest, "malformed-json", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "malformed-json", "the request body ends inside a JSON value")
	case errors.As(err, &te):
		if te.Field == "" {
			return notAnObject()
		}
		detail := fmt.Sprintf("must be %s, not %s", jsonKind(te.Type), te.Value)
		return newProblem(http.StatusBadRequest, "malformed-json",
			fmt.Sprintf("field %q at byte %d %s", te.Field, te.Offset, detail),
			directory.FieldError{Field: te.Field, Detail: detail})
	}
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, uerr := strconv.Unquote(rest)
		if uerr != nil {
			field = rest
		}
		return newProblem(http.StatusBadRequest, "unknown-field", fmt.Sprintf("unknown field %q", field),
			directory.FieldError{Field: field, Detail: "is not a field of this object"})
	}
	// Errors of a type's own UnmarshalJSON (a malformed time, ...).
	return newProblem(http.StatusBadRequest, "malformed-json", "invalid value: "+err.Error())
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
