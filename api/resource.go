package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// readOnly are fields clients cannot set: a body may carry them (a GET
// response sent back as it is), they are ignored.
var readOnly = []string{"id", "created_at", "updated_at"}

// resource is the CRUD of one kind of directory object over the service:
// POST creates, GET/PATCH/DELETE /{id} read, change and remove.
type resource[T any] struct {
	s        *Server
	path     string // "/api/v1/users"
	readOnly []string
	id       func(T) int64
	version  func(T) time.Time // the object's updated_at: its ETag
	get      func(context.Context, int64) (T, error)
	create   func(context.Context, T) (T, error)
	update   func(context.Context, T) (T, error)
	delete   func(context.Context, int64) error
	// postHandler, if set, serves POST instead of handleCreate (create is
	// then not used).
	postHandler apiFunc
}

// register adds the item routes and the list handler.
func (c resource[T]) register(list apiFunc) {
	c.s.api("GET "+c.path, list)
	post := c.handleCreate
	if c.postHandler != nil {
		post = c.postHandler
	}
	c.s.api("POST "+c.path, post)
	c.s.api("GET "+c.path+"/{id}", c.handleGet)
	c.s.api("PATCH "+c.path+"/{id}", c.handlePatch)
	c.s.api("DELETE "+c.path+"/{id}", c.handleDelete)
}

func (c resource[T]) handleGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := c.get(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(c.version(v)))
	return writeJSON(w, http.StatusOK, v)
}

func (c resource[T]) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var v T
	if err := c.s.decodeBody(w, r, &v, c.readOnly...); err != nil {
		return err
	}
	v, err := c.create(r.Context(), v)
	if err != nil {
		return err
	}
	w.Header().Set("Location", c.path+"/"+strconv.FormatInt(c.id(v), 10))
	w.Header().Set("ETag", etag(c.version(v)))
	return writeJSON(w, http.StatusCreated, v)
}

// handlePatch loads the stored object through the service (so agents patch
// only what they may see) and applies the body on top of it.
func (c resource[T]) handlePatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	body, err := c.s.readBody(w, r)
	if err != nil {
		return err
	}
	v, err := c.get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := ifMatch(r, c.version(v)); err != nil {
		return err
	}
	if err := decodeInto(body, &v, c.readOnly...); err != nil {
		return err
	}
	v, err = c.update(r.Context(), v)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(c.version(v)))
	return writeJSON(w, http.StatusOK, v)
}

func (c resource[T]) handleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if r.Header.Get("If-Match") != "" {
		v, err := c.get(r.Context(), id)
		if err != nil {
			return err
		}
		if err := ifMatch(r, c.version(v)); err != nil {
			return err
		}
	}
	if err := c.delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeBody reads the JSON body of a request that makes something new
// (POST) into the zero *dst: readBody, then decodeInto.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, dst any, readOnly ...string) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeInto(body, dst, readOnly...)
}

// pathID reads the {id} of an item path.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badParam("id", "must be a positive integer")
	}
	return id, nil
}

// etag is the entity tag of an object version: its updated_at, which every
// change moves.
func etag(updated time.Time) string {
	return `"` + strconv.FormatInt(updated.UnixMicro(), 36) + `"`
}

// ifMatch enforces If-Match (RFC 9110 section 13.1.1): a client that read
// an object may make its change conditional on nobody having changed it
// since; otherwise 412.
func ifMatch(r *http.Request, updated time.Time) error {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil
	}
	want := etag(updated)
	for _, t := range strings.Split(h, ",") {
		if strings.TrimSpace(t) == want {
			return nil
		}
	}
	return newProblem(http.StatusPreconditionFailed, "precondition-failed",
		"the object changed since that version was read (ETag "+want+"); read it again and retry")
}
