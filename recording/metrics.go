package recording

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Service's Prometheus metrics. They count whether or not
// they are registered.
type metrics struct {
	started *prometheus.CounterVec
	refused *prometheus.CounterVec
	deleted *prometheus.CounterVec
	late    prometheus.Counter
	active  prometheus.GaugeFunc
	bytes   prometheus.GaugeFunc
}

func newMetrics(s *Service) metrics {
	m := metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_recordings_total",
			Help: "Recordings started, by kind (call, voicemail).",
		}, []string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_recordings_refused_total",
			Help: "Recordings not started although recording is on: the storage quota was full (quota) or the file or index entry could not be made (error).",
		}, []string{"reason"}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_recordings_deleted_total",
			Help: "Recordings deleted by the retention sweep: past their retention (expired) or not saved in time (unsaved).",
		}, []string{"reason"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teamline_recording_late_samples_total",
			Help: "Audio samples dropped from recordings because they arrived after their place was written to the file.",
		}),
		active: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "teamline_recordings_active",
			Help: "Recordings being written now.",
		}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.sessions))
		}),
		bytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "teamline_recordings_bytes",
			Help: "Bytes of stored recordings, those being written included.",
		}, func() float64 { return float64(s.used.Load()) }),
	}
	for _, k := range []Kind{KindCall, KindVoicemail} {
		m.started.WithLabelValues(string(k))
	}
	for _, r := range []string{"quota", "error"} {
		m.refused.WithLabelValues(r)
	}
	for _, r := range []string{"expired", "unsaved"} {
		m.deleted.WithLabelValues(r)
	}
	return m
}

func (m metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.started, m.refused, m.deleted, m.late, m.active, m.bytes}
}

// register registers every metric on reg; on failure none stays
// registered.
func (m metrics) register(reg prometheus.Registerer) error {
	cs := m.collectors()
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("recording: registering metrics: %w", err)
		}
	}
	return nil
}

// unregister takes the metrics off reg.
func (m metrics) unregister(reg prometheus.Registerer) {
	for _, c := range m.collectors() {
		reg.Unregister(c)
	}
}
