package client

import "time"

// SetTxRetry shortens SubmitTx's retry timing for a test and returns a
// function that restores it.
func SetTxRetry(first, max, unavailable time.Duration) (restore func()) {
	f, m, u := txRetryFirst, txRetryMax, txUnavailable
	txRetryFirst, txRetryMax, txUnavailable = first, max, unavailable
	return func() { txRetryFirst, txRetryMax, txUnavailable = f, m, u }
}
