// Package rawsource is a demo of the feeds raw streams are for: a ticker
// that speaks plain JSON over WebSocket and knows nothing of DataDragon.
// Like many exchange feeds it wants a subscribe message first, sends no
// seq and keeps no replay, interleaves heartbeats, and stamps every
// message with the subscriber's connection id. It can also drop messages
// to one subscriber, to show a validator whose source lied to it being
// outvoted. `datadragon source --raw` serves it; the devnet observes it as
// the raw stream "raw-ticks".
package rawsource
