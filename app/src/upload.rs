//! Browser side of file uploads (evidence, cost files): the multipart form is sent with
//! XMLHttpRequest to show progress; without JavaScript the form posts itself. The server
//! answers 201 with `{"location": …}` to go to, or an error status with `{"error": …}`.

#[cfg(feature = "hydrate")]
pub use browser::send_with_progress;

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    pub fn send_with_progress(
        ev: leptos::ev::SubmitEvent,
        path: &str,
        max_bytes: u64,
        progress: RwSignal<Option<f64>>,
        error: RwSignal<Option<String>>,
    ) {
        // Anything unexpected: let the browser post the form itself.
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        let Ok(data) = web_sys::FormData::new_with_form(&form) else {
            return;
        };
        let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
            return;
        };
        ev.prevent_default();
        // The server refuses large files without reading them; say so before sending.
        if let Ok(file) = data.get("file").dyn_into::<web_sys::File>() {
            if file.size() > max_bytes as f64 {
                error.set(Some(format!(
                    "{} is larger than the upload limit of {}.",
                    file.name(),
                    crate::util::human_size(max_bytes)
                )));
                return;
            }
        }
        if xhr.open("POST", path).is_err()
            || xhr
                .set_request_header("Accept", "application/json")
                .is_err()
        {
            error.set(Some("The upload could not start.".into()));
            return;
        }
        error.set(None);
        progress.set(Some(0.0));
        if let Ok(upload) = xhr.upload() {
            let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(
                move |e: web_sys::ProgressEvent| {
                    if e.length_computable() && e.total() > 0.0 {
                        progress.set(Some(e.loaded() / e.total()));
                    }
                },
            );
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            on_progress.forget();
        }
        let x = xhr.clone();
        let on_load = Closure::<dyn FnMut()>::new(move || {
            let status = x.status().unwrap_or(0);
            let text = x.response_text().ok().flatten().unwrap_or_default();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if status == 201 {
                if let Some(loc) = json["location"].as_str() {
                    let _ = window().location().assign(loc);
                    return;
                }
            }
            progress.set(None);
            error.set(Some(
                json["error"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("The upload failed (HTTP {status}).")),
            ));
        });
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        on_load.forget();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            progress.set(None);
            error.set(Some("The upload failed: the connection was lost.".into()));
        });
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        if xhr.send_with_opt_form_data(Some(&data)).is_err() {
            progress.set(None);
            error.set(Some("The upload could not be sent.".into()));
        }
    }
}
