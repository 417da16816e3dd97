"""Results page: the trained model as ONNX, TensorFlow SavedModel or LiteRT (TFLite), for other tools, and a
read-only link to the results for people who are not signed in as the run's owner.

An export runs in a child process on TensorFlow (seqcore.outputs.model_export) and is kept in the run's
folder, so the second click is a plain download."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from seqcore import settings
from seqcore.errors import UserError
from seqcore.outputs.model_export import FORMATS, cached_export_zip, export_is_fresh

_HELP = {
    "onnx": "For onnxruntime and the many tools that read ONNX (C#, Java, JavaScript, C++).",
    "savedmodel": "For TensorFlow Serving and TensorFlow programs.",
    "tflite": "For phones and small devices (LiteRT, formerly TensorFlow Lite).",
}


def export_section(run_dir: Path, stem: str) -> None:
    with st.expander("Use the model in other tools (ONNX, TensorFlow SavedModel, LiteRT)"):
        st.caption("Each download holds the network, its preprocessing (`preprocess.json`), a README that says "
                   "what goes in and out, and a short Python example that predicts from a CSV without Sequence "
                   "Studio. Every export is checked against the trained model before you get it.")
        fmt = st.radio("Format", list(FORMATS), format_func=lambda f: FORMATS[f][0],
                       key="results_export_format", captions=[_HELP[f] for f in FORMATS])
        if export_is_fresh(run_dir, fmt):
            st.download_button(f"Download {FORMATS[fmt][0]} (zip)", data=cached_export_zip(run_dir, fmt),
                               file_name=f"model_{stem}_{fmt}.zip", mime="application/zip", icon="⬇️",
                               key=f"results_dl_export_{fmt}", on_click="ignore")
            return
        if st.button(f"Prepare the {FORMATS[fmt][0]} export", key=f"results_export_{fmt}", icon="📤",
                     help="Converts the trained model; this takes 10-30 seconds the first time."):
            try:
                with st.spinner(f"Converting to {FORMATS[fmt][0]} and checking it against the trained model..."):
                    cached_export_zip(run_dir, fmt)
            except UserError as err:
                st.error(str(err))
                return
            st.rerun()


def share_section(store, rec) -> None:
    """Owner's control of the run's read-only link (only where people sign in; without sign-in everyone sees
    every run anyway)."""
    if settings.auth_mode() == "none":
        return
    with st.expander("Share these results (read-only link)"):
        token = store.get_run(rec.id).share_token
        if token:
            st.caption("Anyone signed in who has this link can read these results and download the predictions "
                       "and report; they cannot change, stop or delete anything. Revoke it to stop it working.")
            st.code(f"Results?run={rec.id}&share={token}", language=None)
            if st.button("Revoke the link", key="results_unshare", icon="🚫"):
                store.unshare_run(rec.id)
                st.rerun()
        else:
            st.caption("Only you (and the administrators) can see this run. A link lets others read its results.")
            if st.button("Create a read-only link", key="results_share", icon="🔗"):
                store.share_run(rec.id)
                st.rerun()
