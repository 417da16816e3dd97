"""What a run leaves behind: model bundles (:mod:`.bundle`), CSV exports (:mod:`.export`), plotly figures
(:mod:`.viz`), the HTML report (:mod:`.report`) and the standalone Keras script (:mod:`.codegen`)."""
