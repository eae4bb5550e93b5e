package api

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/teamline/teamline/directory"
)

// List page sizes.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// list is the body of every list response. Next is the cursor of the
// following page, "" on the last one.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// pageOf reads ?limit= and ?after=. The returned page asks the service for
// one item more than the client wants, to tell whether a next page exists.
func pageOf(r *http.Request) (p directory.Page, limit int, err error) {
	limit, err = limitOf(r)
	if err != nil {
		return p, 0, err
	}
	if v := r.URL.Query().Get("after"); v != "" {
		after, ok := decodeCursor(v)
		if !ok {
			return p, 0, badCursor()
		}
		p.After = after
	}
	p.Limit = limit + 1
	return p, limit, nil
}

// limitOf reads ?limit=.
func limitOf(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badParam("limit", "must be an integer from 1 to "+strconv.Itoa(maxLimit))
	}
	return n, nil
}

func badCursor() *Problem {
	return badParam("after", "is not a cursor of this list; use the \"next\" value of the previous page")
}

// Cursors are opaque to clients: the sort key of the last item of a page,
// base64url-encoded so nobody builds on their form.
func encodeCursor(key int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(key, 10)))
}

func decodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil && n >= 0
}

// writePage writes one page. items holds up to limit+1 items ordered by
// key; the extra item only says that there is a next page, announced in
// "next" and in a Link header (RFC 8288).
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, limit int, key func(T) int64) error {
	return writePageCursor(w, r, items, limit, func(it T) string { return encodeCursor(key(it)) })
}

// writePageCursor is writePage with the cursor of the last item made by
// cursor.
func writePageCursor[T any](w http.ResponseWriter, r *http.Request, items []T, limit int, cursor func(T) string) error {
	return writeJSON(w, http.StatusOK, pageList(w, r, "after", items, limit, cursor))
}

// pageList is the page writePageCursor writes, for a body that says more
// than the list: it sets the Link header of the next page, whose cursor
// goes in the query parameter param ("after"; "before" for a list that
// pages back in time).
func pageList[T any](w http.ResponseWriter, r *http.Request, param string, items []T, limit int, cursor func(T) string) list[T] {
	out := list[T]{Items: items}
	if len(items) > limit {
		out.Items = items[:limit]
		out.Next = cursor(out.Items[limit-1])
		q := r.URL.Query()
		q.Set(param, out.Next)
		q.Set("limit", strconv.Itoa(limit))
		w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out
}

// pageSlice pages a list the service returns whole (tokens): the
// items after the cursor's key, ordered by key, up to p.Limit of them.
func pageSlice[T any](all []T, p directory.Page, key func(T) int64) []T {
	for i, it := range all {
		if key(it) > p.After {
			return all[i:min(len(all), i+p.Limit)]
		}
	}
	return nil
}
