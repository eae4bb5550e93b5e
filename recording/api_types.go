package recording

import "errors"

// Usage is the recordings' storage against the quota (R-REC-5).
type Usage struct {
	UsedBytes, QuotaBytes int64
	Full                  bool
	Reason                string // why new calls are not recorded, "" when they are
	Refused               uint64 // recordings refused since the gateway started
}

// ErrSaveWindowClosed: an unsaved recording can no longer be saved.
var ErrSaveWindowClosed = errors.New("recording: the time to save this recording has passed")
