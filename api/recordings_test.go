package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/store/storetest"
)

// testRecordings is the API's Recordings over real files in a directory
// and the real store: what the API needs of recording.Service, which is
// tested in its own package.
type testRecordings struct {
	dir   string
	st    recording.Store
	now   time.Time // the save window is closed at SaveBy and after
	quota int64
	// exportFail, if set, makes Export fail after writing that many bytes
	// of a recording's file (0: before writing anything).
	exportFail *int
	// delay makes Open and Export take that long: a slow disk, a large
	// archive.
	delay time.Duration
}

var _ api.Recordings = (*testRecordings)(nil)

func (tr *testRecordings) Open(ctx context.Context, id int64) (*os.File, recording.Recording, error) {
	r, err := tr.st.GetRecording(ctx, id)
	if err != nil {
		return nil, r, err
	}
	time.Sleep(tr.delay)
	f, err := os.Open(filepath.Join(tr.dir, filepath.FromSlash(r.Path)))
	return f, r, err
}

func (tr *testRecordings) Save(ctx context.Context, id int64) error {
	r, err := tr.st.GetRecording(ctx, id)
	if err != nil {
		return err
	}
	if !r.Saved && !r.SaveBy.IsZero() && !tr.now.Before(r.SaveBy) {
		return fmt.Errorf("%w: recording %d", recording.ErrSaveWindowClosed, id)
	}
	return tr.st.SaveRecording(ctx, id)
}

func (tr *testRecordings) Usage(ctx context.Context) (recording.Usage, error) {
	used, err := tr.st.RecordingBytes(ctx)
	if err != nil {
		return recording.Usage{}, err
	}
	u := recording.Usage{UsedBytes: used, QuotaBytes: tr.quota, Refused: 3}
	if used >= tr.quota {
		u.Full, u.Reason = true, "quota reached"
	}
	return u, nil
}

func (tr *testRecordings) Export(ctx context.Context, w io.Writer, f recording.Filter) (int, error) {
	time.Sleep(tr.delay)
	if tr.exportFail != nil && *tr.exportFail == 0 {
		return 0, fmt.Errorf("%w: the disk is asleep", directory.ErrUnavailable)
	}
	zw := zip.NewWriter(w)
	n := 0
	f.Limit = 1000
	for {
		page, err := tr.st.ListRecordings(ctx, f)
		if err != nil || len(page) == 0 {
			if err == nil {
				err = zw.Close()
			}
			return n, err
		}
		for _, r := range page {
			f.AfterID = r.ID
			if !r.Complete {
				continue
			}
			b, err := os.ReadFile(filepath.Join(tr.dir, filepath.FromSlash(r.Path)))
			if err != nil {
				return n, err
			}
			zf, err := zw.CreateHeader(&zip.FileHeader{Name: r.Path, Method: zip.Store})
			if err != nil {
				return n, err
			}
			if tr.exportFail != nil {
				_, _ = zf.Write(b[:*tr.exportFail])
				_ = zw.Flush()
				return n, errors.New("the disk fell off")
			}
			if _, err := zf.Write(b); err != nil {
				return n, err
			}
			n++
		}
	}
}

// recT0 is when the test recordings start, one an hour.
var recT0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// fileTime is the modification time of every test file.
var fileTime = time.Date(2025, 3, 11, 8, 0, 0, 0, time.UTC)

// testRec describes a recording the tests write through the store.
type testRec struct {
	kind         recording.Kind
	user         string
	lead         int64
	saveBy       time.Duration // after recT0; 0: none
	open         bool          // still being written
	heard        bool
	noFile       bool // the file is gone from disk
	callRecordID int64
}

// standardRecs: alice has 0, 2 (voicemail), 5, 6 (being written) and 7
// (voicemail, heard); bob 1 and 4 (voicemail); 3 is nobody's.
var standardRecs = []testRec{
	{kind: recording.KindCall, user: "alice", lead: 42, saveBy: 72 * time.Hour, callRecordID: 11},
	{kind: recording.KindCall, user: "bob", lead: 7, saveBy: 72 * time.Hour},
	{kind: recording.KindVoicemail, user: "alice"},
	{kind: recording.KindCall, lead: 42},
	{kind: recording.KindVoicemail, user: "bob"},
	{kind: recording.KindCall, user: "alice", saveBy: time.Hour}, // too late to save
	{kind: recording.KindCall, user: "alice", open: true},
	{kind: recording.KindVoicemail, user: "alice", heard: true},
}

// wav is a small valid WAV file (8 kHz, 16 bit, stereo) whose samples
// depend on seed.
func wav(seed int) []byte {
	samples := make([]byte, 4000)
	for i := range samples {
		samples[i] = byte(i*7 + seed*31)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+len(samples)))
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, binary.LittleEndian, []any{uint32(16), uint16(1), uint16(2), uint32(8000), uint32(32000), uint16(4), uint16(16)})
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(samples)))
	b.Write(samples)
	return b.Bytes()
}

// recEnv is a server with recordings over e's store and files in a
// temporary directory.
type recEnv struct {
	*env
	tr    *testRecordings
	ids   []int64
	paths []string
	files [][]byte
}

// newRecEnv adds users alice and bob (agents) and mia (manager), writes
// recs and serves them.
func newRecEnv(t *testing.T, e *env, recs []testRec) (re *recEnv, alice, bob, mia string) {
	t.Helper()
	alice = e.addUser("alice", directory.RoleAgent)
	bob = e.addUser("bob", directory.RoleAgent)
	mia = e.addUser("mia", directory.RoleManager)
	tr := &testRecordings{dir: t.TempDir(), st: e.st, now: recT0.Add(24 * time.Hour), quota: 1 << 20}
	re = &recEnv{tr: tr}
	ctx := context.Background()
	for i, c := range recs {
		start := recT0.Add(time.Duration(i) * time.Hour)
		path := fmt.Sprintf("%s/%s/%d.wav", start.Format("2006/01/02"), c.kind, i)
		data := wav(i)
		r := recording.Recording{CallRecordID: c.callRecordID, CallID: fmt.Sprintf("rec-%d@test", i), Kind: c.kind,
			Username: c.user, LeadID: c.lead, From: "+15125550181", To: "+15125550100", Path: path, Start: start,
			ExpiresAt: start.Add(90 * 24 * time.Hour)}
		if c.saveBy != 0 {
			r.SaveBy = recT0.Add(c.saveBy)
		}
		if err := e.st.CreateRecording(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if !c.open {
			sum := sha256.Sum256(data)
			if err := e.st.FinishRecording(ctx, r.ID, 500, int64(len(data)), hex.EncodeToString(sum[:])); err != nil {
				t.Fatal(err)
			}
		}
		if c.heard {
			if err := e.st.MarkHeard(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		if !c.noFile {
			file := filepath.Join(tr.dir, filepath.FromSlash(path))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(file, fileTime, fileTime); err != nil {
				t.Fatal(err)
			}
		}
		re.ids, re.paths, re.files = append(re.ids, r.ID), append(re.paths, path), append(re.files, data)
	}
	withRec := *e
	withRec.srv = httptest.NewServer(api.New(e.svc, api.WithCallRecords(e.st), api.WithRecordings(tr, e.st)).Handler())
	t.Cleanup(withRec.srv.Close)
	re.env = &withRec
	return re, alice, bob, mia
}

// recJSON is a decoded recording.
type recJSON struct {
	ID           int64     `json:"id"`
	CallRecordID int64     `json:"call_record_id"`
	CallID       string    `json:"call_id"`
	Kind         string    `json:"kind"`
	User         string    `json:"user"`
	LeadID       int64     `json:"lead_id"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Start        time.Time `json:"start"`
	DurationMS   int64     `json:"duration_ms"`
	SizeBytes    int64     `json:"size_bytes"`
	SHA256       string    `json:"sha256"`
	Complete     bool      `json:"complete"`
	Saved        bool      `json:"saved"`
	SaveBy       time.Time `json:"save_by"`
	ExpiresAt    time.Time `json:"expires_at"`
	Heard        bool      `json:"heard"`
	AudioURL     string    `json:"audio_url"`
}

func recJSONIDs(rs []recJSON) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func (re *recEnv) path(i int, suffix string) string {
	return fmt.Sprintf("/api/v1/recordings/%d%s", re.ids[i], suffix)
}

func (re *recEnv) get(t *testing.T, i int, token string) recJSON {
	t.Helper()
	var r recJSON
	re.do(t, "GET", re.path(i, ""), token, nil).want(t, http.StatusOK, &r)
	return r
}

func TestRecordingsList(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		re, alice, bob, mia := newRecEnv(t, e, standardRecs)
		ids := re.ids
		all := slices.Clone(ids)

		// The fields of one recording, as a manager sees them.
		sum := sha256.Sum256(re.files[0])
		want := recJSON{ID: ids[0], CallRecordID: 11, CallID: "rec-0@test", Kind: "call", User: "alice", LeadID: 42,
			From: "+15125550181", To: "+15125550100", Start: recT0, DurationMS: 500, SizeBytes: int64(len(re.files[0])),
			SHA256: hex.EncodeToString(sum[:]), Complete: true, SaveBy: recT0.Add(72 * time.Hour),
			ExpiresAt: recT0.Add(90 * 24 * time.Hour), AudioURL: fmt.Sprintf("/api/v1/recordings/%d/audio", ids[0])}
		if got := re.get(t, 0, mia); got != want {
			t.Fatalf("recording 0\n got %+v\nwant %+v", got, want)
		}
		// Fields not set are absent; the rest always there.
		var raw page[map[string]any]
		re.do(t, "GET", "/api/v1/recordings", mia, nil).want(t, http.StatusOK, &raw)
		base := []string{"audio_url", "call_id", "complete", "duration_ms", "expires_at", "from", "heard", "id", "kind",
			"saved", "sha256", "size_bytes", "start", "to", "user"}
		for i, extra := range map[int][]string{0: {"call_record_id", "lead_id", "save_by"}, 2: nil, 3: {"lead_id"}} {
			got := slices.Sorted(maps.Keys(raw.Items[i]))
			if want := slices.Sorted(slices.Values(append(slices.Clone(base), extra...))); !slices.Equal(got, want) {
				t.Errorf("recording %d has fields %v, want %v", i, got, want)
			}
		}
		if got := re.get(t, 6, mia); got.Complete || got.SHA256 != "" || got.SizeBytes != 0 {
			t.Errorf("recording being written: %+v", got)
		}

		// Filters, for managers; every page size gives the same.
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"", all},
			{"user=alice", pick(ids, 0, 2, 5, 6, 7)},
			{"user=%20ALICE%20", pick(ids, 0, 2, 5, 6, 7)},
			{"user=carol", nil},
			{"kind=voicemail", pick(ids, 2, 4, 7)},
			{"kind=call", pick(ids, 0, 1, 3, 5, 6)},
			{"lead=42", pick(ids, 0, 3)},
			{"lead=42&kind=call&user=alice", pick(ids, 0)},
			{"from=2025-03-10T11:00:00Z", all[2:]},
			{"to=2025-03-10T11:00:00Z", all[:2]},
			{"from=2025-03-10T10:00:00Z&to=2025-03-10T12:00:00Z", pick(ids, 1, 2)},
			{"from=2025-03-10T10:59:59.999999Z&to=2025-03-10T11:00:00.000001Z", pick(ids, 2)},
			{"from=" + url.QueryEscape("2025-03-10T15:00:00+01:00"), all[5:]},
			{"from=2025-03-10T15:00:00+01:00", all[5:]}, // an unencoded "+" arrives as a space
			{"from=2025-03-10T10:00:00Z&kind=voicemail&user=bob", pick(ids, 4)},
		} {
			for _, limit := range []string{"", "&limit=1", "&limit=3"} {
				got := recJSONIDs(listAll[recJSON](t, re.env, "/api/v1/recordings?"+tc.query+limit, mia))
				if !slices.Equal(got, tc.want) {
					t.Errorf("?%s%s: %v, want %v", tc.query, limit, got, tc.want)
				}
			}
		}
		// The cursor of a page continues the list.
		var p page[recJSON]
		re.do(t, "GET", "/api/v1/recordings?limit=4", e.boss, nil).want(t, http.StatusOK, &p)
		if got := recJSONIDs(listAll[recJSON](t, re.env, "/api/v1/recordings?after="+p.Next, e.boss)); !slices.Equal(got, all[4:]) {
			t.Errorf("after the first page: %v, want %v", got, all[4:])
		}

		// An agent sees only their own recordings, whatever ?user= asks.
		for _, q := range []string{"", "?user=bob", "?user=", "?limit=1", "?limit=2&user=boss"} {
			if got, want := recJSONIDs(listAll[recJSON](t, re.env, "/api/v1/recordings"+q, alice)), pick(ids, 0, 2, 5, 6, 7); !slices.Equal(got, want) {
				t.Errorf("alice %s sees %v, want %v", q, got, want)
			}
		}
		if got, want := recJSONIDs(listAll[recJSON](t, re.env, "/api/v1/recordings?kind=voicemail&user=alice", bob)), pick(ids, 4); !slices.Equal(got, want) {
			t.Errorf("bob's voicemail %v, want %v", got, want)
		}

		// Another's recording, or nobody's, is as missing as one that does
		// not exist, for every action on it.
		missing := re.do(t, "GET", "/api/v1/recordings/999999", alice, nil).wantProblem(t, http.StatusNotFound)
		for _, i := range []int{1, 3, 4} {
			for _, act := range []struct{ method, suffix string }{{"GET", ""}, {"GET", "/audio"}, {"POST", "/save"}} {
				p := re.do(t, act.method, re.path(i, act.suffix), alice, nil).wantProblem(t, http.StatusNotFound)
				if p.Type != missing.Type || p.Title != missing.Title || p.Detail != fmt.Sprintf("recording %d", ids[i]) {
					t.Errorf("%s %s as alice: %+v, missing: %+v", act.method, re.path(i, act.suffix), p, missing)
				}
			}
			re.do(t, "GET", re.path(i, ""), mia, nil).want(t, http.StatusOK, nil)
		}
		re.get(t, 5, alice)

		// Bad parameters name themselves, on the list and the export.
		for q, field := range map[string]string{
			"from=yesterday":                                    "from",
			"from=2025-03-10":                                   "from",
			"from=2025-03-10T09:00:00":                          "from",
			"to=2025-13-01T00:00:00Z":                           "to",
			"to=0000-01-01T00:00:00Z":                           "to",
			"from=2025-03-10T12:00:00Z&to=2025-03-10T12:00:00Z": "to",
			"from=2025-03-10T12:00:00Z&to=2025-03-10T11:00:00Z": "to",
			"lead=0":                    "lead",
			"lead=-1":                   "lead",
			"lead=x":                    "lead",
			"lead=99999999999999999999": "lead",
			"kind=Call":                 "kind",
			"kind=video":                "kind",
			"kind=%00":                  "kind",
			"limit=0":                   "limit",
			"limit=501":                 "limit",
			"after=!!":                  "after",
		} {
			paths := []string{"/api/v1/recordings?"}
			if field != "limit" && field != "after" {
				paths = append(paths, "/api/v1/recordings/export?")
			}
			for _, path := range paths {
				p := re.do(t, "GET", path+q, alice, nil).wantProblem(t, http.StatusBadRequest, field)
				if !strings.Contains(p.Detail, `"`+field+`"`) {
					t.Errorf("%s%s: detail %q does not name %s", path, q, p.Detail, field)
				}
			}
		}
		for _, id := range []string{"x", "0", "-3", "1.5"} {
			for _, path := range []string{"/api/v1/recordings/" + id, "/api/v1/recordings/" + id + "/audio"} {
				re.do(t, "GET", path, mia, nil).wantProblem(t, http.StatusBadRequest, "id")
			}
			re.do(t, "POST", "/api/v1/recordings/"+id+"/save", mia, nil).wantProblem(t, http.StatusBadRequest, "id")
		}

		// A token is required everywhere.
		for _, path := range []string{"/api/v1/recordings", re.path(0, ""), re.path(0, "/audio"), "/api/v1/recordings/export",
			"/api/v1/recordings/usage", fmt.Sprintf("/api/v1/users/%d/voicemail", e.users["alice"])} {
			re.do(t, "GET", path, "", nil).wantProblem(t, http.StatusUnauthorized)
		}
		re.do(t, "POST", re.path(0, "/save"), "", nil).wantProblem(t, http.StatusUnauthorized)
	})
}

func TestRecordingAudio(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		recs := slices.Clone(standardRecs)
		recs = append(recs, testRec{kind: recording.KindCall, user: "alice", noFile: true}) // 8
		re, alice, bob, mia := newRecEnv(t, e, recs)
		sum := sha256.Sum256(re.files[0])
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		lastModified := fileTime.Format(http.TimeFormat)

		audio := func(i int, token string, header ...string) *resp {
			t.Helper()
			req := re.request(t, "GET", re.path(i, "/audio"), token, nil)
			for k := 0; k+1 < len(header); k += 2 {
				req.Header.Set(header[k], header[k+1])
			}
			return re.send(t, req)
		}
		for _, tc := range []struct {
			name    string
			header  []string
			status  int
			body    []byte
			headers map[string]string
		}{
			{"whole", nil, http.StatusOK, re.files[0], map[string]string{
				"Content-Type": "audio/wav", "ETag": etag, "Last-Modified": lastModified, "Accept-Ranges": "bytes",
				"Content-Length": fmt.Sprint(len(re.files[0])), "Content-Disposition": fmt.Sprintf(`inline; filename="recording-%d.wav"`, re.ids[0])}},
			{"range", []string{"Range", "bytes=100-163"}, http.StatusPartialContent, re.files[0][100:164], map[string]string{
				"Content-Type": "audio/wav", "Content-Range": fmt.Sprintf("bytes 100-163/%d", len(re.files[0])), "Content-Length": "64"}},
			{"the last bytes", []string{"Range", "bytes=-10"}, http.StatusPartialContent, re.files[0][len(re.files[0])-10:], nil},
			{"the header", []string{"Range", "bytes=0-43"}, http.StatusPartialContent, re.files[0][:44], nil},
			{"past the end", []string{"Range", "bytes=999999-"}, http.StatusRequestedRangeNotSatisfiable, nil, nil},
			{"range if the same", []string{"Range", "bytes=0-3", "If-Range", etag}, http.StatusPartialContent, []byte("RIFF"), nil},
			{"range if another", []string{"Range", "bytes=0-3", "If-Range", `"other"`}, http.StatusOK, re.files[0], nil},
			{"not modified since", []string{"If-Modified-Since", lastModified}, http.StatusNotModified, []byte{}, map[string]string{"ETag": etag}},
			{"modified since", []string{"If-Modified-Since", fileTime.Add(-time.Second).Format(http.TimeFormat)}, http.StatusOK, re.files[0], nil},
			{"none match", []string{"If-None-Match", etag}, http.StatusNotModified, []byte{}, nil},
			{"none match another", []string{"If-None-Match", `"other"`}, http.StatusOK, re.files[0], nil},
		} {
			r := audio(0, mia, tc.header...)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %.200s", tc.name, r.status, tc.status, r.body)
				continue
			}
			if tc.body != nil && !bytes.Equal(r.body, tc.body) {
				t.Errorf("%s: %d bytes, want %d", tc.name, len(r.body), len(tc.body))
			}
			for k, v := range tc.headers {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %s %q, want %q", tc.name, k, got, v)
				}
			}
		}
		// A file still being written has no ETag yet.
		if r := audio(6, alice); r.status != http.StatusOK || r.header.Get("ETag") != "" || !bytes.Equal(r.body, re.files[6]) {
			t.Errorf("open recording: %d, ETag %q", r.status, r.header.Get("ETag"))
		}
		// A file gone from disk.
		p := audio(8, alice).wantProblem(t, http.StatusNotFound)
		if !strings.HasSuffix(p.Type, "/audio-gone") || !strings.Contains(p.Detail, "audio") {
			t.Errorf("gone: %+v", p)
		}

		// A voicemail is heard once its box's owner fetched it; a
		// manager's listening, or the owner's HEAD, does not count.
		unheard := func(user, token string) (int, int) {
			t.Helper()
			var v struct{ Unheard, Total int }
			re.do(t, "GET", fmt.Sprintf("/api/v1/users/%d/voicemail", e.users[user]), token, nil).want(t, http.StatusOK, &v)
			return v.Unheard, v.Total
		}
		audio(2, mia).want(t, http.StatusOK, nil)
		re.send(t, re.request(t, "HEAD", re.path(2, "/audio"), alice, nil)).want(t, http.StatusOK, nil)
		if got := re.get(t, 2, alice); got.Heard {
			t.Fatal("heard before its owner fetched it")
		}
		if u, n := unheard("alice", alice); u != 1 || n != 2 {
			t.Fatalf("alice's box: %d unheard of %d", u, n)
		}
		if r := audio(2, alice, "Range", "bytes=0-99"); r.status != http.StatusPartialContent || !bytes.Equal(r.body, re.files[2][:100]) {
			t.Fatalf("alice's voicemail: %d", r.status)
		}
		if got := re.get(t, 2, mia); !got.Heard {
			t.Fatal("not heard after its owner fetched it")
		}
		if u, n := unheard("alice", mia); u != 0 || n != 2 {
			t.Fatalf("alice's box: %d unheard of %d", u, n)
		}
		audio(4, bob).want(t, http.StatusOK, nil)
		if got := re.get(t, 4, bob); !got.Heard {
			t.Fatal("bob's voicemail not heard")
		}
		// Call recordings are not "heard".
		audio(0, alice).want(t, http.StatusOK, nil)
		if got := re.get(t, 0, alice); got.Heard {
			t.Fatal("a call recording heard")
		}
	})
}

func TestRecordingSave(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		re, alice, bob, mia := newRecEnv(t, e, standardRecs)
		for _, tc := range []struct {
			name   string
			i      int
			token  string
			status int
		}{
			{"own, in time", 0, alice, http.StatusOK},
			{"own, again", 0, alice, http.StatusOK},
			{"own, too late", 5, alice, http.StatusConflict},
			{"another's", 1, alice, http.StatusNotFound},
			{"own, bob", 1, bob, http.StatusOK},
			{"nobody's, as a manager", 3, mia, http.StatusOK},
			{"too late for managers too", 5, mia, http.StatusConflict},
			{"voicemail without a save window", 2, alice, http.StatusOK},
		} {
			r := re.do(t, "POST", re.path(tc.i, "/save"), tc.token, nil)
			if tc.status != http.StatusOK {
				p := r.wantProblem(t, tc.status)
				if tc.status == http.StatusConflict && (!strings.HasSuffix(p.Type, "/save-window-closed") ||
					!strings.Contains(p.Detail, "can no longer be saved")) {
					t.Errorf("%s: %+v", tc.name, p)
				}
				continue
			}
			var got recJSON
			r.want(t, http.StatusOK, &got)
			if got.ID != re.ids[tc.i] || !got.Saved || !got.SaveBy.IsZero() || got != re.get(t, tc.i, mia) {
				t.Errorf("%s: answered %+v", tc.name, got)
			}
		}
		if got := re.get(t, 5, mia); got.Saved || got.SaveBy.IsZero() {
			t.Errorf("refused save changed %+v", got)
		}
		re.do(t, "POST", "/api/v1/recordings/999999/save", mia, nil).wantProblem(t, http.StatusNotFound)
	})
}

// unzip opens a zip body and returns its files by name.
func unzip(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

func TestRecordingExport(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		re, alice, bob, mia := newRecEnv(t, e, standardRecs)
		for _, tc := range []struct {
			name, query, token, file string
			want                     []int // complete recordings only
		}{
			{"everything", "", mia, "teamline-recordings-start-now.zip", []int{0, 1, 2, 3, 4, 5, 7}},
			{"a day", "from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z", e.boss, "teamline-recordings-2025-03-10-2025-03-11.zip",
				[]int{0, 1, 2, 3, 4, 5, 7}},
			{"hours", "from=2025-03-10T10:00:00Z&to=2025-03-10T12:30:00Z", mia, "teamline-recordings-20250310T100000Z-20250310T123000Z.zip",
				[]int{1, 2, 3}},
			{"bob's voicemail", "user=bob&kind=voicemail", mia, "teamline-recordings-start-now.zip", []int{4}},
			{"a lead", "lead=42", mia, "teamline-recordings-start-now.zip", []int{0, 3}},
			{"alice's own", "", alice, "teamline-recordings-start-now.zip", []int{0, 2, 5, 7}},
			{"alice asks for bob's", "user=bob", alice, "teamline-recordings-start-now.zip", []int{0, 2, 5, 7}},
			{"bob's own calls", "kind=call", bob, "teamline-recordings-start-now.zip", []int{1}},
			{"none", "user=carol", mia, "teamline-recordings-start-now.zip", nil},
		} {
			r := re.do(t, "GET", "/api/v1/recordings/export?"+tc.query, tc.token, nil).want(t, http.StatusOK, nil)
			if ct := r.header.Get("Content-Type"); ct != "application/zip" {
				t.Errorf("%s: Content-Type %q", tc.name, ct)
			}
			if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="`+tc.file+`"` {
				t.Errorf("%s: Content-Disposition %q", tc.name, cd)
			}
			want := map[string][]byte{}
			for _, i := range tc.want {
				want[re.paths[i]] = re.files[i]
			}
			got := unzip(t, r.body)
			if !maps.EqualFunc(got, want, bytes.Equal) {
				t.Errorf("%s: archive holds %v, want %v", tc.name, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
		}

		// HEAD: the headers, no export.
		r := re.send(t, re.request(t, "HEAD", "/api/v1/recordings/export", mia, nil)).want(t, http.StatusOK, nil)
		if r.header.Get("Content-Type") != "application/zip" || len(r.body) != 0 {
			t.Errorf("HEAD: %v %q", r.header, r.body)
		}

		// An export that fails before its first byte is a problem; one that
		// fails later breaks the download, never a short archive that looks
		// whole.
		zero := 0
		re.tr.exportFail = &zero
		p := re.do(t, "GET", "/api/v1/recordings/export", mia, nil).wantProblem(t, http.StatusServiceUnavailable)
		if !strings.Contains(p.Detail, "the disk is asleep") {
			t.Errorf("failed export: %+v", p)
		}
		some := 1000
		re.tr.exportFail = &some
		res, err := re.srv.Client().Do(re.request(t, "GET", "/api/v1/recordings/export", mia, nil))
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if err == nil {
			t.Fatal("an export broken off midway read as complete")
		}
	})
}

// TestRecordingDownloadsOutliveWriteTimeout: the audio and the export
// archive may take longer to write than the server's write timeout, which
// is sized for JSON answers, and the export longer than the request
// timeout.
func TestRecordingDownloadsOutliveWriteTimeout(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		re, _, _, mia := newRecEnv(t, e, standardRecs)
		re.tr.delay = 300 * time.Millisecond
		slow := *re.env
		slow.srv = httptest.NewUnstartedServer(api.New(e.svc, api.WithRecordings(re.tr, e.st),
			api.WithRequestTimeout(100*time.Millisecond)).Handler())
		slow.srv.Config.WriteTimeout = 100 * time.Millisecond
		slow.srv.Start()
		t.Cleanup(slow.srv.Close)
		for _, path := range []string{re.path(0, "/audio"), "/api/v1/recordings/export"} {
			res, err := slow.srv.Client().Do(slow.request(t, "GET", path, mia, nil))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d, %d bytes, %v", path, res.StatusCode, len(body), err)
			}
		}
	})
}

func TestRecordingUsage(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		re, alice, _, mia := newRecEnv(t, e, standardRecs)
		var total int64
		for i, f := range re.files {
			if !standardRecs[i].open {
				total += int64(len(f))
			}
		}
		for _, tok := range []string{mia, e.boss} {
			r := re.do(t, "GET", "/api/v1/recordings/usage", tok, nil).want(t, http.StatusOK, nil)
			want := fmt.Sprintf(`{"used_bytes":%d,"quota_bytes":1048576,"full":false,"reason":"","refused":3}`+"\n", total)
			if string(r.body) != want {
				t.Errorf("usage %s, want %s", r.body, want)
			}
		}
		re.tr.quota = total
		var u struct {
			Full   bool   `json:"full"`
			Reason string `json:"reason"`
		}
		re.do(t, "GET", "/api/v1/recordings/usage", mia, nil).want(t, http.StatusOK, &u)
		if !u.Full || u.Reason != "quota reached" {
			t.Errorf("full usage %+v", u)
		}
		p := re.do(t, "GET", "/api/v1/recordings/usage", alice, nil).wantProblem(t, http.StatusForbidden)
		if !strings.Contains(p.Detail, "only managers") {
			t.Errorf("agent: %+v", p)
		}
	})
}

func TestVoicemail(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		re, alice, bob, mia := newRecEnv(t, e, standardRecs)
		e.addUser("carol", directory.RoleAgent)
		path := func(user string) string { return fmt.Sprintf("/api/v1/users/%d/voicemail", e.users[user]) }
		type box struct {
			Items   []recJSON `json:"items"`
			Next    string    `json:"next"`
			Unheard int       `json:"unheard"`
			Total   int       `json:"total"`
		}
		for _, tc := range []struct {
			user, token    string
			want           []int64
			unheard, total int
		}{
			{"alice", alice, pick(re.ids, 2, 7), 1, 2},
			{"alice", mia, pick(re.ids, 2, 7), 1, 2},
			{"bob", bob, pick(re.ids, 4), 1, 1},
			{"bob", e.boss, pick(re.ids, 4), 1, 1},
			{"carol", mia, nil, 0, 0},
		} {
			var b box
			r := re.do(t, "GET", path(tc.user), tc.token, nil).want(t, http.StatusOK, &b)
			if b.Items == nil || !slices.Equal(recJSONIDs(b.Items), tc.want) || b.Unheard != tc.unheard || b.Total != tc.total || b.Next != "" {
				t.Errorf("%s's box: %s", tc.user, r.body)
			}
			if got := recJSONIDs(listAll[recJSON](t, re.env, path(tc.user)+"?limit=1", tc.token)); !slices.Equal(got, tc.want) {
				t.Errorf("%s's box, paged: %v", tc.user, got)
			}
		}
		// One page at a time, with the counts of the whole box.
		var b box
		r := re.do(t, "GET", path("alice")+"?limit=1", alice, nil).want(t, http.StatusOK, &b)
		if len(b.Items) != 1 || b.Items[0].ID != re.ids[2] || b.Next == "" || b.Total != 2 || b.Unheard != 1 ||
			!strings.Contains(r.header.Get("Link"), `rel="next"`) {
			t.Errorf("first page: %s (Link %q)", r.body, r.header.Get("Link"))
		}

		// Another's box is as missing as a user that does not exist.
		missing := re.do(t, "GET", "/api/v1/users/999999/voicemail", alice, nil).wantProblem(t, http.StatusNotFound)
		for _, u := range []string{"bob", "mia"} {
			p := re.do(t, "GET", path(u), alice, nil).wantProblem(t, http.StatusNotFound)
			if p.Type != missing.Type || p.Detail != fmt.Sprintf("user %d", e.users[u]) {
				t.Errorf("alice asks for %s's box: %+v", u, p)
			}
		}
		re.do(t, "GET", "/api/v1/users/999999/voicemail", mia, nil).wantProblem(t, http.StatusNotFound)
		re.do(t, "GET", "/api/v1/users/me/voicemail", alice, nil).wantProblem(t, http.StatusBadRequest, "id")
		re.do(t, "GET", path("alice")+"?limit=0", alice, nil).wantProblem(t, http.StatusBadRequest, "limit")
		re.do(t, "GET", path("alice")+"?after=~", alice, nil).wantProblem(t, http.StatusBadRequest, "after")
	})
}

// TestRecordingsNotEnabled: without WithRecordings the endpoints exist
// (behind the token) and say they are not enabled.
func TestRecordingsNotEnabled(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		for _, path := range []string{"/api/v1/recordings", "/api/v1/recordings?from=bad", "/api/v1/recordings/1",
			"/api/v1/recordings/1/audio", "/api/v1/recordings/export", "/api/v1/recordings/usage",
			fmt.Sprintf("/api/v1/users/%d/voicemail", e.users["alice"])} {
			for _, tok := range []string{e.boss, alice} {
				p := e.do(t, "GET", path, tok, nil).wantProblem(t, http.StatusNotFound)
				if !strings.HasSuffix(p.Type, "/not-enabled") || !strings.Contains(p.Detail, "recordings are not enabled") {
					t.Errorf("%s: %+v", path, p)
				}
			}
			e.do(t, "GET", path, "", nil).wantProblem(t, http.StatusUnauthorized)
		}
		e.do(t, "POST", "/api/v1/recordings/1/save", alice, nil).wantProblem(t, http.StatusNotFound)
	})
}

// TestCallConsentJSON: a call says how its parties were told of the
// recording, and which recording it has.
func TestCallConsentJSON(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		ids := addCalls(t, e, []testCall{{user: "alice"}, {user: "alice"}})
		ctx := context.Background()
		at := callT0.Add(2 * time.Second)
		if err := e.st.SetCallConsent(ctx, ids[0], "skipped:one-party:TX", at); err != nil {
			t.Fatal(err)
		}
		rec := recording.Recording{CallRecordID: ids[0], CallID: "c0", Kind: recording.KindCall, Username: "alice", Path: "c0.wav", Start: callT0}
		if err := e.st.CreateRecording(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		var c struct {
			Consent     string    `json:"consent"`
			ConsentAt   time.Time `json:"consent_at"`
			RecordingID int64     `json:"recording_id"`
		}
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[0]), alice, nil).want(t, http.StatusOK, &c)
		if c.Consent != "skipped:one-party:TX" || !c.ConsentAt.Equal(at) || c.RecordingID != rec.ID {
			t.Errorf("call with consent: %+v", c)
		}
		var raw map[string]any
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[1]), alice, nil).want(t, http.StatusOK, &raw)
		for _, k := range []string{"consent", "consent_at", "recording_id"} {
			if _, ok := raw[k]; ok {
				t.Errorf("a call without recording has %q", k)
			}
		}
	})
}

// rawQuery escapes the bytes of q that cannot travel in a request line,
// and leaves everything else, broken escapes too, to the server.
func rawQuery(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzRecordingFilter sends arbitrary queries to the list and the export:
// whatever arrives, the answer is a success or a client error with a
// problem document, never a 500 or a panic.
func FuzzRecordingFilter(f *testing.F) {
	e := newEnv(f, storetest.Drivers()[0])
	tr := &testRecordings{dir: f.TempDir(), st: e.st, quota: 1}
	e.srv = httptest.NewServer(api.New(e.svc, api.WithRecordings(tr, e.st)).Handler())
	f.Cleanup(e.srv.Close)
	alice := e.addUser("alice", directory.RoleAgent)
	for _, seed := range []string{
		"", "from=2025-03-10T09:00:00Z&to=2025-03-11T00:00:00Z", "from=2025-03-10T15:00:00+01:00", "to=9999-12-31T23:59:59Z",
		"from=0001-01-01T00:00:00Z", "to=0001-01-01T00:30:00%2B01:00", "from=x&to=y", "lead=9223372036854775807",
		"lead=9223372036854775808", "lead=1e3", "kind=voicemail&user=%25", "user=%00%ff", "after=MTA&limit=500",
		"after=LTE", "limit=-0", "%zz", "from=2025-03-10T09:00:00.999999999999Z", "from=2025-02-30T00:00:00Z",
		"kind=call&kind=voicemail", "from=+2025-03-10T09:00:00Z",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, query string, manager bool) {
		tok := alice
		if manager {
			tok = e.boss
		}
		for _, path := range []string{"/api/v1/recordings", "/api/v1/recordings/export"} {
			req, err := http.NewRequest("GET", e.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.RawQuery = rawQuery(query)
			req.Header.Set("Authorization", "Bearer "+tok)
			r := e.send(t, req)
			switch {
			case r.status == http.StatusOK:
			case r.status >= 400 && r.status < 500:
				if r.header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%s?%q: %d without a problem: %s", path, query, r.status, r.body)
				}
			default:
				t.Fatalf("%s?%q: status %d: %s", path, query, r.status, r.body)
			}
		}
	})
}
