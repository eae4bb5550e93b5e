package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
)

// Recordings is what the API needs of the recording service
// (*recording.Service): the audio files and the actions on them. The
// listings come from the index, a recording.Store.
type Recordings interface {
	// Open opens the file of recording id; the caller closes it.
	Open(ctx context.Context, id int64) (*os.File, recording.Recording, error)
	// Save keeps recording id; recording.ErrSaveWindowClosed when it is
	// too late.
	Save(ctx context.Context, id int64) error
	// Usage is the storage used against the quota.
	Usage(ctx context.Context) (recording.Usage, error)
	// Export writes a zip archive of the recordings f selects to w and
	// returns how many files it holds.
	Export(ctx context.Context, w io.Writer, f recording.Filter) (int, error)
}

// recordingRoutes: the recordings of calls and the voicemail (R-REC-1..5,
// R-IN-4). Managers see and act on every recording; an agent only on
// those whose user is the agent (the agent of the call, the owner of the
// voicemail box): others' answer 404 like missing ones. Without
// WithRecordings they all answer 404 "not enabled".
//
//	GET  /api/v1/recordings             list (?from=&to=&user=&lead=&kind=&after=&limit=)
//	GET  /api/v1/recordings/{id}        one
//	GET  /api/v1/recordings/{id}/audio  the WAV file (Range, If-Modified-Since, ETag)
//	POST /api/v1/recordings/{id}/save   keep it (409 when too late)
//	GET  /api/v1/recordings/export      a zip of the list's recordings (same filters)
//	GET  /api/v1/recordings/usage       storage against the quota (managers)
//	GET  /api/v1/users/{id}/voicemail   the user's voicemail and how much is unheard
func (s *Server) recordingRoutes() {
	need := func(h apiFunc) apiFunc { return needs(s.recordings != nil && s.recIndex != nil, "recordings", h) }
	s.api("GET /api/v1/recordings", need(s.listRecordings))
	s.api("GET /api/v1/recordings/{id}", need(s.getRecording))
	s.api("GET /api/v1/recordings/{id}/audio", need(s.recordingAudio))
	s.api("POST /api/v1/recordings/{id}/save", need(s.saveRecording))
	s.stream("GET /api/v1/recordings/export", need(s.exportRecordings))
	s.api("GET /api/v1/recordings/usage", need(s.recordingUsage))
	s.api("GET /api/v1/users/{id}/voicemail", need(s.listVoicemail))
}

// recordingJSON is the JSON of a recording.Recording. call_record_id,
// lead_id, save_by and expires_at are absent when not set.
type recordingJSON struct {
	ID           int64          `json:"id"`
	CallRecordID int64          `json:"call_record_id,omitzero"`
	CallID       string         `json:"call_id"`
	Kind         recording.Kind `json:"kind"`
	User         string         `json:"user"`
	LeadID       int64          `json:"lead_id,omitzero"`
	From         string         `json:"from"`
	To           string         `json:"to"`
	Start        time.Time      `json:"start"`
	DurationMS   int64          `json:"duration_ms"`
	SizeBytes    int64          `json:"size_bytes"`
	SHA256       string         `json:"sha256"`
	Complete     bool           `json:"complete"`
	Saved        bool           `json:"saved"`
	SaveBy       time.Time      `json:"save_by,omitzero"`
	ExpiresAt    time.Time      `json:"expires_at,omitzero"`
	Heard        bool           `json:"heard"`
	AudioURL     string         `json:"audio_url"`
}

func recordingOut(r recording.Recording) recordingJSON {
	return recordingJSON{
		ID:           r.ID,
		CallRecordID: r.CallRecordID,
		CallID:       r.CallID,
		Kind:         r.Kind,
		User:         r.Username,
		LeadID:       r.LeadID,
		From:         r.From,
		To:           r.To,
		Start:        r.Start.UTC(),
		DurationMS:   r.DurationMS,
		SizeBytes:    r.SizeBytes,
		SHA256:       r.SHA256,
		Complete:     r.Complete,
		Saved:        r.Saved,
		SaveBy:       utcOrZero(r.SaveBy),
		ExpiresAt:    utcOrZero(r.ExpiresAt),
		Heard:        r.Heard,
		AudioURL:     "/api/v1/recordings/" + strconv.FormatInt(r.ID, 10) + "/audio",
	}
}

func recordingsOut(rs []recording.Recording) []recordingJSON {
	out := make([]recordingJSON, len(rs))
	for i, r := range rs {
		out[i] = recordingOut(r)
	}
	return out
}

// usageJSON is the JSON of a recording.Usage.
type usageJSON struct {
	UsedBytes  int64  `json:"used_bytes"`
	QuotaBytes int64  `json:"quota_bytes"`
	Full       bool   `json:"full"`
	Reason     string `json:"reason"`
	Refused    uint64 `json:"refused"`
}

// voicemailList is the body of GET /api/v1/users/{id}/voicemail: a page
// of the box, and counts over all of it.
type voicemailList struct {
	list[recordingJSON]
	Unheard int `json:"unheard"`
	Total   int `json:"total"`
}

// recordingVisible: managers see every recording, an agent only their own.
func recordingVisible(a directory.Actor, r recording.Recording) bool {
	return a.Role.IsManager() || r.Username == a.Username
}

// visibleRecording returns the recording of the path's {id} if the actor
// may see it; others' are as missing as those that do not exist.
func (s *Server) visibleRecording(r *http.Request) (recording.Recording, error) {
	id, err := pathID(r)
	if err != nil {
		return recording.Recording{}, err
	}
	rec, err := s.recIndex.GetRecording(r.Context(), id)
	if err != nil {
		return recording.Recording{}, err
	}
	if !recordingVisible(actor(r), rec) {
		return recording.Recording{}, fmt.Errorf("%w: recording %d", directory.ErrNotFound, id)
	}
	return rec, nil
}

// recordingFilter reads the filters of the list and the export: from and
// to (RFC 3339; from inclusive, to exclusive), user, lead and kind. An
// agent's filter is narrowed to the agent's own recordings (userParam). A
// bad value is a 400 problem naming its parameter.
func recordingFilter(r *http.Request) (recording.Filter, error) {
	var f recording.Filter
	q := r.URL.Query()
	var err error
	if f.From, f.To, err = timeRange(q, "from", "to"); err != nil {
		return f, err
	}
	if v := q.Get("lead"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, badParam("lead", "must be a lead ID (a positive integer)")
		}
		f.LeadID = n
	}
	switch k := recording.Kind(q.Get("kind")); k {
	case "", recording.KindCall, recording.KindVoicemail:
		f.Kind = k
	default:
		return f, badParam("kind", fmt.Sprintf("must be %q or %q", recording.KindCall, recording.KindVoicemail))
	}
	f.Username = userParam(r)
	return f, nil
}

func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request) error {
	f, err := recordingFilter(r)
	if err != nil {
		return err
	}
	p, limit, err := pageOf(r)
	if err != nil {
		return err
	}
	f.AfterID, f.Limit = p.After, p.Limit
	rs, err := s.recIndex.ListRecordings(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, recordingsOut(rs), limit, func(j recordingJSON) int64 { return j.ID })
}

func (s *Server) getRecording(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.visibleRecording(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recordingOut(rec))
}

// recordingAudio serves the WAV file with http.ServeContent: ranges,
// If-Modified-Since and, once the file is complete, its hash as the ETag
// (If-None-Match, If-Range). A voicemail fetched by the owner of the box is
// heard from then on.
func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.visibleRecording(r)
	if err != nil {
		return err
	}
	id := rec.ID
	f, rec, err := s.recordings.Open(r.Context(), id)
	if errors.Is(err, fs.ErrNotExist) {
		return newProblem(http.StatusNotFound, "audio-gone", fmt.Sprintf("the audio of recording %d is gone", id))
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("recording %d: %w", id, err)
	}
	a := actor(r)
	if r.Method == http.MethodGet && rec.Kind == recording.KindVoicemail && !rec.Heard && rec.Username == a.Username {
		// Hearing the message matters more than the flag: a failure is
		// logged, the audio served all the same.
		if err := s.recIndex.MarkHeard(r.Context(), rec.ID); err != nil {
			s.log.Warn("marking a voicemail heard", "request_id", requestID(r.Context()), "recording", rec.ID, "err", err)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="recording-%d.wav"`, rec.ID))
	if rec.Complete && rec.SHA256 != "" {
		h.Set("ETag", strconv.Quote(rec.SHA256))
	}
	longTransfer(w)
	http.ServeContent(w, r, "", info.ModTime(), f)
	return nil
}

// downloadTimeout bounds writing one recording or export archive: far
// longer than http.write_timeout, which is sized for JSON answers and would
// cut an archive of many recordings, or a slow client's download, short.
const downloadTimeout = 2 * time.Hour

// longTransfer gives this response downloadTimeout to be written.
func longTransfer(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTimeout))
}

func (s *Server) saveRecording(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.visibleRecording(r)
	if err != nil {
		return err
	}
	if err := s.recordings.Save(r.Context(), rec.ID); err != nil {
		if errors.Is(err, recording.ErrSaveWindowClosed) {
			return newProblem(http.StatusConflict, "save-window-closed",
				fmt.Sprintf("recording %d can no longer be saved: the time to save it has passed", rec.ID))
		}
		return err
	}
	if rec, err = s.recIndex.GetRecording(r.Context(), rec.ID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recordingOut(rec))
}

// exportRecordings streams a zip of the recordings the filters select
// (an agent's own only). An error before the first byte is a problem;
// after it, the connection is cut so that the client sees a broken
// download rather than a short archive.
func (s *Server) exportRecordings(w http.ResponseWriter, r *http.Request) error {
	f, err := recordingFilter(r)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("teamline-recordings-%s-%s.zip", exportBound(f.From, "start"), exportBound(f.To, "now"))
	header := func() {
		h := w.Header()
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	if r.Method == http.MethodHead {
		header()
		return nil
	}
	longTransfer(w)
	lw := &lazyWriter{w: w, header: header}
	n, err := s.recordings.Export(r.Context(), lw, f)
	if err != nil {
		if !lw.started {
			return err
		}
		s.log.Error("recordings export broken off", "request_id", requestID(r.Context()), "files", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !lw.started { // an exporter that wrote nothing at all
		header()
		w.WriteHeader(http.StatusOK)
	}
	s.log.Debug("recordings exported", "request_id", requestID(r.Context()), "files", n)
	return nil
}

// exportBound names one end of an export's time range in its file name:
// the date for midnight UTC, else the UTC time to the second; absent for
// the zero time.
func exportBound(t time.Time, absent string) string {
	switch {
	case t.IsZero():
		return absent
	case t.Equal(t.Truncate(24 * time.Hour)):
		return t.Format("2006-01-02")
	}
	return t.Format("20060102T150405Z")
}

// lazyWriter sends the headers with the first byte written.
type lazyWriter struct {
	w       http.ResponseWriter
	header  func()
	started bool
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if !l.started {
		l.started = true
		l.header()
	}
	return l.w.Write(b)
}

func (s *Server) recordingUsage(w http.ResponseWriter, r *http.Request) error {
	if !actor(r).Role.IsManager() {
		return fmt.Errorf("%w: only managers see the recordings' storage", directory.ErrForbidden)
	}
	u, err := s.recordings.Usage(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, usageJSON{UsedBytes: u.UsedBytes, QuotaBytes: u.QuotaBytes, Full: u.Full,
		Reason: u.Reason, Refused: u.Refused})
}

// listVoicemail lists a user's voicemail box, by ID, with the counts of
// unheard and all messages. An agent sees only their own box; another's
// answers 404 like a user that does not exist.
func (s *Server) listVoicemail(w http.ResponseWriter, r *http.Request) error {
	u, p, limit, err := s.userPage(r)
	if err != nil {
		return err
	}
	rs, err := s.recIndex.ListRecordings(r.Context(), recording.Filter{Username: u.Username,
		Kind: recording.KindVoicemail, AfterID: p.After, Limit: p.Limit})
	if err != nil {
		return err
	}
	unheard, total, err := s.recIndex.UnheardVoicemails(r.Context(), u.Username)
	if err != nil {
		return err
	}
	page := pageList(w, r, "after", recordingsOut(rs), limit, func(j recordingJSON) string { return encodeCursor(j.ID) })
	return writeJSON(w, http.StatusOK, voicemailList{list: page, Unheard: unheard, Total: total})
}

// streamKey holds, in a streaming request's context, the context the
// request came with: without the request timeout.
type streamKey struct{}

// stream registers an authenticated handler that may stream for longer
// than the request timeout (an export of many recordings): authentication
// runs under the timeout, the handler's context ends only when the client
// goes away or the server stops.
func (s *Server) stream(pattern string, h apiFunc) {
	inner := s.tag(pattern, s.authenticate(s.errors(func(w http.ResponseWriter, r *http.Request) error {
		orig, _ := r.Context().Value(streamKey{}).(context.Context)
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		defer cancel()
		stop := context.AfterFunc(orig, cancel)
		defer stop()
		return h(w, r.WithContext(ctx))
	})))
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), streamKey{}, r.Context())))
	}))
}
