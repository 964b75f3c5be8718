// Package raw is the client for third-party WebSocket feeds that know
// nothing of DataDragon: an exchange's ticker, a sensor network, a log
// stream. It connects (ws:// or wss://, with the request headers the feed
// wants), sends the feed's subscribe messages, and hands every text or
// binary message on as it arrives.
//
// Such a feed has no seq and no replay, so a lost connection loses
// messages for good. Every disconnect is therefore a typed Gap event,
// delivered before the next connection's first message, so the chunker
// knows continuity broke. Reconnects back off exponentially with jitter.
//
// Everything is bounded: the size of one message (checked by the
// WebSocket library before the payload is read), the number and size of
// subscribe messages and headers, the wait for a message (a feed silent
// for ReadTimeout is treated as dead and reconnected), the dial and the
// subscribe writes.
package raw
