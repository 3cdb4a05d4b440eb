// What the local SES (moto) was asked to send: the browser test and the UI bench read mailed links here.

/** The token of the latest `page` link mailed to `email` (links are `/<page>#token=…`), or null. */
export async function mailedToken(email, page) {
  const data = await (await fetch(`${process.env.AWS_ENDPOINT_URL_SESV2}/moto-api/data.json`)).json();
  const mail = (data.ses?.Message ?? []).filter((m) => m.destinations?.ToAddresses?.includes(email)).pop();
  return mail?.body.match(new RegExp(`/${page}#token=([A-Za-z0-9_-]+)`))?.[1] ?? null;
}
