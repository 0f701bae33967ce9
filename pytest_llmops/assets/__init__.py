"""The files a suite is made of: prompt versions, golden sets (readers and updater) and YAML with line numbers."""
