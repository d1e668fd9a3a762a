// A page of an origin no project allows, holding a code and its verifier (in the fragment): it
// tries the token endpoint, and writes to #result what its fetch saw.
/* global document, location, fetch, URLSearchParams */

const given = new URLSearchParams(location.hash.slice(1));
fetch(given.get('token_endpoint'), {
  method: 'POST',
  body: new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: given.get('client_id'),
    code: given.get('code'),
    code_verifier: given.get('code_verifier'),
    redirect_uri: given.get('redirect_uri'),
  }),
})
  .then(
    (response) => ({ status: response.status }),
    (error) => ({ error: String(error) }),
  )
  .then((result) => {
    document.getElementById('result').textContent = JSON.stringify(result);
  });
