package recording

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"
)

// exportPage is how many index entries Export asks the store for at once.
const exportPage = 100

// manifestEntry is one recording in the export's manifest.
type manifestEntry struct {
	ID           int64   `json:"id"`
	File         string  `json:"file"`
	Kind         Kind    `json:"kind"`
	CallRecordID int64   `json:"call_record_id"`
	CallID       string  `json:"call_id"`
	User         string  `json:"user"`
	LeadID       int64   `json:"lead_id"`
	From         string  `json:"from"`
	To           string  `json:"to"`
	Start        string  `json:"start"`
	DurationMS   int64   `json:"duration_ms"`
	SizeBytes    int64   `json:"size_bytes"`
	SHA256       string  `json:"sha256"`
	Saved        bool    `json:"saved"`
	Expires      *string `json:"expires"` // null: kept indefinitely
	Missing      bool    `json:"missing"`
}

var manifestColumns = []string{"id", "file", "kind", "call_record_id", "call_id", "user", "lead_id",
	"from", "to", "start", "duration_ms", "size_bytes", "sha256", "saved", "expires", "missing"}

func (e *manifestEntry) row() []string {
	expires := ""
	if e.Expires != nil {
		expires = *e.Expires
	}
	return []string{
		strconv.FormatInt(e.ID, 10), csvCell(e.File), string(e.Kind), strconv.FormatInt(e.CallRecordID, 10),
		csvCell(e.CallID), csvCell(e.User), strconv.FormatInt(e.LeadID, 10), csvCell(e.From), csvCell(e.To),
		e.Start, strconv.FormatInt(e.DurationMS, 10), strconv.FormatInt(e.SizeBytes, 10), e.SHA256,
		strconv.FormatBool(e.Saved), expires, strconv.FormatBool(e.Missing),
	}
}

// csvCell keeps a spreadsheet from taking a cell for a formula: a value
// that starts with = @ tab or CR, or with + or - not followed by a number
// (so E.164 numbers stay as they are), gets a leading apostrophe.
func csvCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		for i := 1; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return "'" + v
			}
		}
	}
	return v
}

// Export writes a zip archive of every complete recording matching f (its
// Limit is ignored; AfterID is where the export starts) to w: each file
// under its path in the recordings directory, stored uncompressed (WAV
// barely compresses), then manifest.csv and manifest.json with one entry
// per recording. Sizes and hashes in the manifest are those of the bytes
// archived. A file missing on disk is left out of the archive and flagged
// "missing" in the manifest. Files are streamed, never held in memory. n
// is the number of files archived.
func (s *Service) Export(ctx context.Context, w io.Writer, f Filter) (n int, err error) {
	zw := zip.NewWriter(w)
	var entries []manifestEntry
	f.Limit = exportPage
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		page, err := s.st.ListRecordings(ctx, f)
		if err != nil {
			return n, fmt.Errorf("recording: listing recordings to export: %w", err)
		}
		for _, r := range page {
			f.AfterID = max(f.AfterID, r.ID)
			if !r.Complete {
				continue
			}
			e, err := s.exportOne(ctx, zw, r)
			if err != nil {
				return n, err
			}
			if !e.Missing {
				n++
			}
			entries = append(entries, e)
		}
		if len(page) < exportPage {
			break
		}
	}
	if err := writeManifests(zw, entries, s.clock()); err != nil {
		return n, err
	}
	if err := zw.Close(); err != nil {
		return n, fmt.Errorf("recording: finishing the export: %w", err)
	}
	return n, nil
}

// exportOne copies one recording's file into the archive and returns its
// manifest entry.
func (s *Service) exportOne(ctx context.Context, zw *zip.Writer, r Recording) (manifestEntry, error) {
	e := manifestEntry{
		ID: r.ID, File: r.Path, Kind: r.Kind, CallRecordID: r.CallRecordID, CallID: r.CallID,
		User: r.Username, LeadID: r.LeadID, From: r.From, To: r.To,
		Start:      r.Start.UTC().Format(time.RFC3339),
		DurationMS: r.DurationMS, SizeBytes: r.SizeBytes, SHA256: r.SHA256, Saved: r.Saved,
	}
	if !r.ExpiresAt.IsZero() {
		x := r.ExpiresAt.UTC().Format(time.RFC3339)
		e.Expires = &x
	}
	file, err := s.openFile(r.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.log.Warn("recording: file missing; listed in the export's manifest only", "recording", r.ID)
		e.Missing = true
		return e, nil
	case errors.Is(err, ErrBadPath):
		s.log.Error("recording: index entry points outside the recordings directory; not exported", "recording", r.ID)
		e.Missing = true
		return e, nil
	}
	if err != nil {
		return e, err
	}
	defer file.Close()
	zf, err := zw.CreateHeader(&zip.FileHeader{Name: r.Path, Method: zip.Store, Modified: r.Start.UTC()})
	if err != nil {
		return e, fmt.Errorf("recording: exporting %d: %w", r.ID, err)
	}
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(zf, h), &ctxReader{ctx: ctx, r: file})
	if err != nil {
		return e, fmt.Errorf("recording: exporting %d: %w", r.ID, err)
	}
	e.SizeBytes, e.SHA256 = size, hex.EncodeToString(h.Sum(nil))
	if size != r.SizeBytes || e.SHA256 != r.SHA256 {
		s.log.Warn("recording: file differs from its index entry; exported as it is on disk",
			"recording", r.ID, "size_bytes", size, "indexed_size_bytes", r.SizeBytes)
	}
	return e, nil
}

// writeManifests adds manifest.csv and manifest.json to the archive.
func writeManifests(zw *zip.Writer, entries []manifestEntry, now time.Time) error {
	hdr := func(name string) (io.Writer, error) {
		return zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now.UTC()})
	}
	cf, err := hdr("manifest.csv")
	if err != nil {
		return fmt.Errorf("recording: writing manifest.csv: %w", err)
	}
	cw := csv.NewWriter(cf)
	_ = cw.Write(manifestColumns)
	for i := range entries {
		_ = cw.Write(entries[i].row())
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("recording: writing manifest.csv: %w", err)
	}
	jf, err := hdr("manifest.json")
	if err != nil {
		return fmt.Errorf("recording: writing manifest.json: %w", err)
	}
	if entries == nil {
		entries = []manifestEntry{}
	}
	enc := json.NewEncoder(jf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(entries); err != nil {
		return fmt.Errorf("recording: writing manifest.json: %w", err)
	}
	return nil
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
