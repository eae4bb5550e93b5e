package recording_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/teamline/teamline/recording"
)

// exported is an archive made by Export, read back.
type exported struct {
	files map[string][]byte // the WAV files by name
	csv   []map[string]string
	json  []map[string]any
}

func readExport(t *testing.T, b []byte) exported {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the export is not a zip archive: %v", err)
	}
	x := exported{files: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		switch f.Name {
		case "manifest.csv":
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil || len(rows) == 0 {
				t.Fatalf("manifest.csv: %v", err)
			}
			for _, row := range rows[1:] {
				m := map[string]string{}
				for i, col := range rows[0] {
					m[col] = row[i]
				}
				x.csv = append(x.csv, m)
			}
		case "manifest.json":
			if err := json.Unmarshal(data, &x.json); err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
		default:
			if f.Method != zip.Store {
				t.Errorf("%s is compressed (method %d); WAV is stored", f.Name, f.Method)
			}
			x.files[f.Name] = data
		}
	}
	return x
}

func TestExport(t *testing.T) {
	const day = 24 * time.Hour
	e := newEnv(t, recording.Policy{Enabled: true, SaveByDefault: true, Retention: 90 * day})
	at := func(d time.Duration) { e.clock.Set(t0.Add(d)) }
	rec := func(user string, kind recording.Kind, from string) recording.Recording {
		return e.record(t, recording.Recording{Username: user, Kind: kind, CallID: user + "-call", From: from, To: "+15559870002", LeadID: 42, CallRecordID: 7}, 2, 500*time.Millisecond)
	}
	at(0)
	rec("ann", "", "+15551230001")
	rec("bob", "", "+15551230001")
	at(day) // From is inclusive
	ann1 := rec("ann", "", "=HYPERLINK(\"http://x\")")
	ann2 := rec("ann", recording.KindVoicemail, "+15551230001")
	rec("bob", "", "+15551230001")
	at(2 * day)
	gone := rec("ann", "", "+15551230001")
	open := e.start(t, recording.Recording{Username: "ann", CallID: "still talking"}, 2) // not complete: left out
	e.talk(open, time.Second)
	at(3 * day) // To is exclusive
	rec("ann", "", "+15551230001")
	if err := os.Remove(filepath.Join(e.dir, filepath.FromSlash(gone.Path))); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	n, err := e.svc.Export(context.Background(), &buf, recording.Filter{From: t0.Add(day), To: t0.Add(3 * day), Username: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	x := readExport(t, buf.Bytes())
	if n != 2 || len(x.files) != 2 || x.files[ann1.Path] == nil || x.files[ann2.Path] == nil {
		t.Fatalf("Export archived %d files %v, want %s and %s", n, slices.Collect(maps.Keys(x.files)), ann1.Path, ann2.Path)
	}
	if len(x.csv) != 3 || len(x.json) != 3 {
		t.Fatalf("manifests list %d and %d recordings, want 3", len(x.csv), len(x.json))
	}
	for i, r := range []recording.Recording{ann1, ann2, gone} {
		data, archived := x.files[r.Path]
		missing := r.ID == gone.ID
		wantSize, wantSum := strconv.Itoa(len(data)), sha256hex(data)
		if missing {
			wantSize, wantSum = strconv.FormatInt(r.SizeBytes, 10), r.SHA256
		}
		if archived == missing {
			t.Errorf("recording %d: archived %v, missing %v", r.ID, archived, missing)
		}
		if !missing && (int64(len(data)) != r.SizeBytes || sha256hex(data) != r.SHA256) {
			t.Errorf("recording %d: archived bytes differ from the file", r.ID)
		}
		c := x.csv[i]
		wantCSV := map[string]string{
			"id": strconv.FormatInt(r.ID, 10), "file": r.Path, "kind": string(r.Kind), "call_record_id": "7",
			"call_id": "ann-call", "user": "ann", "lead_id": "42", "from": r.From, "to": "+15559870002",
			"start": r.Start.UTC().Format(time.RFC3339), "duration_ms": "500", "size_bytes": wantSize,
			"sha256": wantSum, "saved": "true", "expires": r.Start.Add(90 * day).UTC().Format(time.RFC3339),
			"missing": strconv.FormatBool(missing),
		}
		if r.ID == ann1.ID {
			wantCSV["from"] = "'" + r.From // not a formula in a spreadsheet
		}
		for k, v := range wantCSV {
			if c[k] != v {
				t.Errorf("manifest.csv, recording %d: %s = %q, want %q", r.ID, k, c[k], v)
			}
		}
		j := x.json[i]
		wantJSON := map[string]any{
			"id": float64(r.ID), "file": r.Path, "kind": string(r.Kind), "call_record_id": float64(7),
			"call_id": "ann-call", "user": "ann", "lead_id": float64(42), "from": r.From, "to": "+15559870002",
			"start": wantCSV["start"], "duration_ms": float64(500), "size_bytes": float64(mustAtoi(wantSize)),
			"sha256": wantSum, "saved": true, "expires": wantCSV["expires"], "missing": missing,
		}
		for k, v := range wantJSON {
			if j[k] != v {
				t.Errorf("manifest.json, recording %d: %s = %v, want %v", r.ID, k, j[k], v)
			}
		}
	}
}

// TestExportPages: an export of more recordings than one page of the store
// has them all, and one of nothing is a valid archive with empty manifests.
func TestExportPages(t *testing.T) {
	e := newEnv(t, on)
	for range 205 {
		e.record(t, recording.Recording{Username: "ann"}, 1, 0)
	}
	for _, tt := range []struct {
		user string
		want int
	}{{"ann", 205}, {"nobody", 0}} {
		var buf bytes.Buffer
		n, err := e.svc.Export(context.Background(), &buf, recording.Filter{Username: tt.user})
		if err != nil {
			t.Fatal(err)
		}
		x := readExport(t, buf.Bytes())
		if n != tt.want || len(x.files) != tt.want || len(x.csv) != tt.want || len(x.json) != tt.want {
			t.Errorf("%s: %d exported, %d files, %d+%d manifest entries; want %d", tt.user, n, len(x.files), len(x.csv), len(x.json), tt.want)
		}
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
