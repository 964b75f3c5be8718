package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datadragon/datadragon/app"
)

// metrics are the API's own series; the chain's are read from the app at
// scrape time by stateCollector, so they are right after a restart and
// cost nothing between scrapes.
type metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	verify     *prometheus.HistogramVec
	verifyBusy prometheus.Counter
}

func newMetrics(h *Handler) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "datadragon_http_requests_total",
			Help: "HTTP requests served by the API, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "datadragon_http_request_duration_seconds",
			Help:    "Time to serve an API request, by route (WebSocket upgrades excluded).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		verify: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "datadragon_zk_verify_duration_seconds",
			Help:    "Time to verify a signature or proof sent to POST /v1/zk/verify, by kind and result.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"kind", "result"}),
		verifyBusy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "datadragon_zk_verify_busy_total",
			Help: "POST /v1/zk/verify requests refused with 503 because every verification slot was busy.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.verify, m.verifyBusy, newStateCollector(h)} {
		if err := h.registry.Register(c); err != nil {
			return nil, fmt.Errorf("api: registering metrics (one Handler per registry): %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	if code == 0 {
		code = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	if code != http.StatusSwitchingProtocols {
		m.duration.WithLabelValues(route).Observe(d.Seconds())
	}
}

func (h *Handler) metricsHandler() http.HandlerFunc {
	ph := promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: 4})
	return ph.ServeHTTP
}

// stateCollector reads the chain's state, the feed and the self-check at
// each scrape.
type stateCollector struct {
	h *Handler

	height, consensusHeight, accepted, disputed, lastIndex       *prometheus.Desc
	power, attested, agreed, faulty, absent, equivocations, gaps *prometheus.Desc
	late, subscribers, published, sent, dropped, selfCheckOK     *prometheus.Desc
}

func newStateCollector(h *Handler) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("datadragon_"+name, help, labels, nil)
	}
	val := []string{"validator", "name"}
	return &stateCollector{h: h,
		height:          d("height", "Last block height the app committed."),
		consensusHeight: d("consensus_height", "CometBFT's block-store height."),
		accepted:        d("records_accepted_total", "Records accepted, by stream.", "stream"),
		disputed:        d("records_disputed_total", "Records disputed (no majority in time), by stream.", "stream"),
		lastIndex:       d("stream_last_index", "Highest accepted chunk index, by stream.", "stream"),
		power:           d("validator_power", "Voting power, by validator.", val...),
		attested:        d("validator_attestations_total", "Settled chunks the validator attested.", val...),
		agreed:          d("validator_agreed_total", "Settled chunks where the validator attested the accepted digest.", val...),
		faulty:          d("validator_faulty_total", "Chunks where the validator attested something other than the accepted claim.", val...),
		absent:          d("validator_absent_total", "Settled chunks the validator never attested.", val...),
		equivocations:   d("validator_equivocations_total", "Chunks the validator attested two different ways.", val...),
		gaps:            d("validator_gaps_total", "Chunks the validator reported as a gap.", val...),
		late:            d("validator_late_total", "Attestations that arrived after the chunk was decided.", val...),
		subscribers:     d("feed_subscribers", "Open WebSocket feed subscriptions."),
		published:       d("feed_records_total", "Records encoded for feed subscribers."),
		sent:            d("feed_messages_sent_total", "Feed messages written to subscribers."),
		dropped:         d("feed_dropped_total", "Feed subscribers dropped, by reason (slow: queue full; stalled: a write timed out; unresponsive: no answer to a ping; shutdown).", "reason"),
		selfCheckOK:     d("selfcheck_ok", "1 if the last /healthz STARK self-check passed, 0 if it failed (absent before the first)."),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.height, c.consensusHeight, c.accepted, c.disputed, c.lastIndex, c.power,
		c.attested, c.agreed, c.faulty, c.absent, c.equivocations, c.gaps, c.late, c.subscribers, c.published, c.sent,
		c.dropped, c.selfCheckOK} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	fail := func(d *prometheus.Desc, err error) {
		if !errors.Is(err, app.ErrNotInitialised) {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
	}
	if s, err := h.app.Status(); err == nil {
		gauge(c.height, float64(s.Height))
	} else {
		fail(c.height, err)
	}
	if h.node.Height != nil {
		gauge(c.consensusHeight, float64(h.node.Height()))
	}
	if ss, err := h.app.Streams(); err == nil {
		for _, s := range ss {
			counter(c.accepted, s.Accepted, s.ID)
			counter(c.disputed, s.Disputed, s.ID)
			if s.LastIndex != nil {
				gauge(c.lastIndex, float64(*s.LastIndex), s.ID)
			}
		}
	} else {
		fail(c.accepted, err)
	}
	if vs, err := h.app.Validators(); err == nil {
		for _, v := range vs {
			l := []string{fmt.Sprintf("%x", []byte(v.Address)), v.Name}
			gauge(c.power, float64(v.Power), l...)
			counter(c.attested, v.Attested, l...)
			counter(c.agreed, v.Agreed, l...)
			counter(c.faulty, v.Faulty, l...)
			counter(c.absent, v.Absent, l...)
			counter(c.equivocations, v.Equivocations, l...)
			counter(c.gaps, v.Gaps, l...)
			counter(c.late, v.Late, l...)
		}
	} else {
		fail(c.power, err)
	}
	f := h.feed
	gauge(c.subscribers, float64(f.Subscribers()))
	counter(c.published, f.published.Load())
	counter(c.sent, f.sent.Load())
	counter(c.dropped, f.droppedSlow.Load(), "slow")
	counter(c.dropped, f.droppedStall.Load(), "stalled")
	counter(c.dropped, f.droppedClosed.Load(), "shutdown")
	counter(c.dropped, f.droppedPing.Load(), "unresponsive")
	if sc, ok := h.health.cached(); ok {
		v := 0.0
		if sc.OK {
			v = 1
		}
		gauge(c.selfCheckOK, v)
	}
}
