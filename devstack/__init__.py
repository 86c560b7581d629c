"""Starting the exchange's processes on one machine: `make up` and the tests."""
