package udp

// StressNet is Stress with the net client (RequestNet): host may be a name
// ("localhost"), as in the tutorial's Python client, resolved by Go's own
// resolver once per client.
func StressNet(host string, port int, word string, cfg StressConfig) StressResult {
	return stress(word, cfg, func(msg string, cc ClientConfig) (string, error) {
		return RequestNet(host, port, msg, cc)
	})
}
