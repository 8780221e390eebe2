"""From the queued prompt to the node: the names both sides share, the prompt hook that splits
the graph, the sealed channel it writes into the node, UI-built nodes and the queue-time checks."""
