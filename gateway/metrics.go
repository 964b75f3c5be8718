package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus metrics, registered in
// Config.Registry (the node gives the API's registry, so /metrics serves
// them).
type metrics struct {
	wsOpen    prometheus.Gauge
	wsRefused *prometheus.CounterVec
	wsClosed  *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		wsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "datadragon_gateway_push_ws_open",
			Help: "Push WebSocket connections open.",
		}),
		wsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "datadragon_gateway_push_ws_refused_total",
			Help: "Push WebSocket connections refused before the upgrade, by cap: node_cap (503) or client_cap (429).",
		}, []string{"cap"}),
		wsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "datadragon_gateway_push_ws_closed_total",
			Help: "Push WebSocket connections ended, by reason: idle, frame_timeout, too_big, bad_frame, error (the log refused an append), ended, client.",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.wsOpen, m.wsRefused, m.wsClosed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
