import { LANGUAGE_OPTIONS, STAGES } from '@omniaffect/core';
import { pageCsp, pageHead } from '../report/csp';
import { BI_CSS, DICTIONARIES, bi, esc, type Lang } from '../report/i18n';

/**
 * The web console at `/`: a person who will not write curl submits a video (upload or URL), watches it
 * run stage by stage, opens its report, deletes it, and manages webhook subscriptions. One static page
 * (inline CSS and script under a CSP nonce, no external resources); it talks to the same `/v1` API with
 * the key the person enters, which stays in this tab's sessionStorage and never goes into a URL.
 */

const CONSOLE_WORDS: Record<Lang, Record<string, string>> = {
  en: {
    'console.title': 'OmniAffect console',
    'console.key': 'API key',
    'console.key.save': 'Use this key',
    'console.key.forget': 'Forget the key',
    'console.key.help': 'Kept in this browser tab only (session storage); never put in a URL.',
    'console.key.bad': 'This key was not accepted.',
    'console.submit': 'Analyse a video',
    'console.file': 'File',
    'console.url': 'or a URL',
    'console.language': 'Spoken language',
    'console.language.auto': 'detect',
    'console.go': 'Submit',
    'console.videos': 'Recent videos',
    'console.videos.none': 'No videos yet.',
    'console.report': 'Report',
    'console.delete': 'Delete',
    'console.deleted': 'erased',
    'console.confirmDelete': 'Erase this video and everything derived from it?',
    'console.webhooks': 'Webhook subscriptions',
    'console.webhook.add': 'Subscribe',
    'console.webhook.secret': 'Signing secret (shown once):',
    'console.webhook.none': 'No subscriptions.',
    'console.webhook.deliveries': 'Last deliveries',
    'console.webhook.noDeliveries': 'none yet',
    'console.problem': 'Problem',
    'status.queued': 'queued',
    'status.processing': 'processing',
    'status.succeeded': 'succeeded',
    'status.failed': 'failed',
    'status.canceled': 'canceled',
    'state.pending': 'pending',
    'state.running': 'running',
    'state.done': 'done',
    'state.failed': 'failed',
    'state.skipped': 'skipped',
  },
  zh: {
    'console.title': 'OmniAffect 控制台',
    'console.key': 'API 密钥',
    'console.key.save': '使用此密钥',
    'console.key.forget': '清除密钥',
    'console.key.help': '只保存在当前浏览器标签页（会话存储）中，不会出现在任何网址里。',
    'console.key.bad': '密钥未被接受。',
    'console.submit': '分析视频',
    'console.file': '文件',
    'console.url': '或网址',
    'console.language': '说话语言',
    'console.language.auto': '自动检测',
    'console.go': '提交',
    'console.videos': '最近的视频',
    'console.videos.none': '还没有视频。',
    'console.report': '报告',
    'console.delete': '删除',
    'console.deleted': '已清除',
    'console.confirmDelete': '清除此视频及由它产生的一切数据？',
    'console.webhooks': 'Webhook 订阅',
    'console.webhook.add': '订阅',
    'console.webhook.secret': '签名密钥（只显示一次）：',
    'console.webhook.none': '没有订阅。',
    'console.webhook.deliveries': '最近的投递',
    'console.webhook.noDeliveries': '暂无',
    'console.problem': '问题',
    'status.queued': '排队中',
    'status.processing': '处理中',
    'status.succeeded': '已完成',
    'status.failed': '失败',
    'status.canceled': '已取消',
    'state.pending': '等待',
    'state.running': '运行中',
    'state.done': '完成',
    'state.failed': '失败',
    'state.skipped': '跳过',
  },
};

// the console's words join the shared dictionaries, so `bi` serves both pages
for (const lang of ['en', 'zh'] as const) Object.assign(DICTIONARIES[lang], CONSOLE_WORDS[lang]);

export function consoleCsp(nonce: string, inMeta = false): string {
  return pageCsp(nonce, { connect: true }, inMeta);
}

const CSS = `
${BI_CSS}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:0 auto;max-width:64rem;padding:1rem 1.5rem 3rem;color:#1d1d1f}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #e3e3e6}
.top{display:flex;justify-content:space-between;align-items:center}button,input,select{font:inherit}button{cursor:pointer;border:1px solid #c9c9ce;background:#f7f7f9;border-radius:6px;padding:.2rem .7rem}
.muted{color:#6b6b70;font-size:.9em}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.4rem 0}input[type=url],input[type=password]{min-width:22rem}
.error{color:#b3261e}.video{border:1px solid #e3e3e6;border-radius:8px;padding:.5rem .7rem;margin:.5rem 0}.video .id{font-family:ui-monospace,monospace;font-size:.85em}
.stages{display:flex;flex-wrap:wrap;gap:.3rem;margin:.3rem 0}.stage{font-size:.8rem;border-radius:10px;padding:0 .5rem;background:#eee}
.stage.done{background:#d7f2e0}.stage.running{background:#fff1c2}.stage.failed{background:#fde2e1}.stage.skipped{background:#eceff1;color:#666}
.status{font-weight:600}.status.succeeded{color:#2e9d5b}.status.failed{color:#b3261e}.problem{color:#b3261e;font-size:.9em}
.verdict{font-weight:600}.secret{font-family:ui-monospace,monospace;background:#fff6db;padding:.2rem .4rem}
table{border-collapse:collapse}td{border-bottom:1px solid #eee;padding:.1rem .5rem;font-size:.85rem}
`;

/** The console page; `lang` is the first language shown (the switch flips it in place). */
export function renderConsole(lang: Lang, nonce: string): string {
  const dict = JSON.stringify({ en: DICTIONARIES.en, zh: DICTIONARIES.zh }).replace(/</g, '\\u003c');
  const options = LANGUAGE_OPTIONS.map((o) => `<option value="${o}">${o === 'auto' ? bi('console.language.auto') : esc(o)}</option>`).join('');
  return `${pageHead({ lang, nonce, csp: consoleCsp(nonce, true), title: 'OmniAffect', css: CSS })}
<body>
<div class="top"><h1>${bi('console.title')}</h1><button type="button" id="lang-switch">${bi('report.switch')}</button></div>
<section id="key-section"><h2>${bi('console.key')}</h2>
<form id="key-form" class="row"><input type="password" id="api-key" autocomplete="off" required> <button type="submit">${bi('console.key.save')}</button> <button type="button" id="forget-key">${bi('console.key.forget')}</button></form>
<p class="muted">${bi('console.key.help')}</p><p class="error" id="key-error" hidden>${bi('console.key.bad')}</p></section>
<section id="submit-section"><h2>${bi('console.submit')}</h2>
<form id="submit-form">
<div class="row"><label>${bi('console.file')} <input type="file" id="file" accept="video/*,audio/*"></label> <label>${bi('console.url')} <input type="url" id="url" placeholder="https://"></label></div>
<div class="row"><label>${bi('console.language')} <select id="language">${options}</select></label> <button type="submit" id="submit">${bi('console.go')}</button> <span id="submit-status" class="problem" role="status"></span></div>
</form></section>
<section id="videos-section"><h2>${bi('console.videos')}</h2><div id="videos"><p class="muted">${bi('console.videos.none')}</p></div></section>
<section id="webhooks-section"><h2>${bi('console.webhooks')}</h2>
<form id="webhook-form" class="row"><input type="url" id="webhook-url" placeholder="https://" required> <button type="submit">${bi('console.webhook.add')}</button> <span id="webhook-status" role="status"></span></form>
<div id="webhooks"></div></section>
<script type="application/json" id="words">${dict}</script>
<script nonce="${esc(nonce)}">${SCRIPT.replace('__STAGES__', JSON.stringify(STAGES))}</script>
</body>
</html>
`;
}

const SCRIPT = `
(function(){
  var html=document.documentElement, WORDS=JSON.parse(document.getElementById('words').textContent), STAGES=__STAGES__;
  function esc(s){return String(s==null?'':s).replace(/[&<>"']/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
  function bi(key){return ['en','zh'].map(function(l){return '<span lang="'+l+'" data-l="'+l+'">'+esc((WORDS[l]||{})[key]||key)+'</span>';}).join('');}
  try{var sl=sessionStorage.getItem('omniaffect.lang');if(sl==='en'||sl==='zh')html.lang=sl;}catch(e){}
  document.getElementById('lang-switch').addEventListener('click',function(){html.lang=html.lang==='zh'?'en':'zh';try{sessionStorage.setItem('omniaffect.lang',html.lang);}catch(e){}});
  function key(){try{return sessionStorage.getItem('omniaffect.apiKey');}catch(e){return null;}}
  function api(path,opts){
    opts=opts||{};var h=opts.headers||{};h['Authorization']='Bearer '+key();opts.headers=h;
    return fetch(path,opts).then(function(r){
      if(r.status===204)return null;
      var ct=r.headers.get('content-type')||'';
      return (ct.indexOf('json')>=0?r.json():r.text()).then(function(b){if(!r.ok){var e=new Error((b&&b.title)||('HTTP '+r.status));e.problem=b;e.status=r.status;throw e;}return b;});
    });
  }
  var streams={};
  function stageChips(v){
    return STAGES.map(function(s){var st=(v.stages&&v.stages[s])||{state:'pending'};
      return '<span class="stage '+esc(st.state)+'" data-stage="'+esc(s)+'" data-state="'+esc(st.state)+'" title="'+esc(st.reason||'')+'">'+bi('stage.'+s)+': '+bi('state.'+st.state)+'</span>';}).join('');
  }
  function render(v){
    var el=document.getElementById('v-'+v.id);
    if(!el){el=document.createElement('div');el.className='video';el.id='v-'+v.id;var list=document.getElementById('videos');var empty=list.querySelector('.muted');if(empty)empty.remove();list.insertBefore(el,list.firstChild);}
    el.setAttribute('data-status',v.status);
    var problem=v.error?'<div class="problem" data-type="'+esc(v.error.type)+'">'+bi('console.problem')+': '+esc(v.error.title||'')+(v.error.detail?' — '+esc(v.error.detail):'')+' <code>'+esc(String(v.error.type||'').split('/').pop())+'</code></div>':'';
    el.innerHTML='<div class="row"><span class="id">'+esc(v.id)+'</span> <span class="status '+esc(v.status)+'">'+bi('status.'+v.status)+'</span> '+
      (v.source&&v.source.filename?'<span class="muted">'+esc(v.source.filename)+'</span>':'')+
      (v.status==='succeeded'?' <button type="button" class="open-report">'+bi('console.report')+'</button>':'')+
      ' <button type="button" class="delete">'+bi('console.delete')+'</button></div><div class="stages">'+stageChips(v)+'</div>'+problem;
    var rb=el.querySelector('.open-report');if(rb)rb.addEventListener('click',function(){openReport(v.id);});
    el.querySelector('.delete').addEventListener('click',function(){
      if(!window.confirm((WORDS[html.lang]||WORDS.en)['console.confirmDelete']))return;
      api('/v1/videos/'+v.id,{method:'DELETE'}).then(function(){el.setAttribute('data-status','erased');el.innerHTML='<span class="id">'+esc(v.id)+'</span> '+bi('console.deleted');}).catch(show);
    });
    if(['succeeded','failed','canceled'].indexOf(v.status)<0)follow(v.id);
  }
  function show(e){document.getElementById('submit-status').textContent=e.message+(e.problem&&e.problem.detail?': '+e.problem.detail:'');}
  /** Server-sent events with the key in a header: EventSource cannot send one, so the stream is read with fetch. */
  function follow(id){
    if(streams[id])return;streams[id]=true;
    fetch('/v1/videos/'+id+'/events',{headers:{'Authorization':'Bearer '+key(),'Accept':'text/event-stream'}}).then(function(r){
      if(!r.ok||!r.body){streams[id]=false;return;}
      var reader=r.body.getReader(),dec=new TextDecoder(),buf='';
      function pump(){return reader.read().then(function(x){
        // the stream ends when the video does: its final document, and the deliveries its end caused
        if(x.done){streams[id]=false;api('/v1/videos/'+id).then(render).then(function(){setTimeout(loadWebhooks,1500);}).catch(function(){});return;}
        buf+=dec.decode(x.value,{stream:true});var cut;
        while((cut=buf.indexOf('\\n\\n'))>=0){var block=buf.slice(0,cut);buf=buf.slice(cut+2);var data='';
          block.split('\\n').forEach(function(l){if(l.indexOf('data: ')===0)data+=l.slice(6);});
          if(data){try{render(JSON.parse(data));}catch(e){}}}
        return pump();});}
      return pump();
    }).catch(function(){streams[id]=false;});
  }
  function openReport(id){
    // a signed, short-lived link: the report opens in its own tab without the key in its URL
    api('/v1/videos/'+id+'/report-link',{method:'POST'}).then(function(l){window.open(l.url+'&lang='+html.lang,'_blank');}).catch(show);
  }
  function loadVideos(){return api('/v1/videos?limit=20').then(function(p){p.videos.slice().reverse().forEach(render);});}
  function loadWebhooks(){
    return api('/v1/webhooks').then(function(list){
      var hooks=list.webhooks||list;var box=document.getElementById('webhooks');
      if(!hooks.length){box.innerHTML='<p class="muted">'+bi('console.webhook.none')+'</p>';return;}
      box.innerHTML='';
      hooks.forEach(function(h){
        var d=document.createElement('div');d.className='video webhook';d.setAttribute('data-id',h.id);
        d.innerHTML='<div class="row"><span class="id">'+esc(h.url)+'</span> <span class="muted">'+esc((h.events||[]).join(', '))+'</span> <button type="button" class="delete">'+bi('console.delete')+'</button></div><div class="deliveries muted">'+bi('console.webhook.deliveries')+': …</div>';
        d.querySelector('.delete').addEventListener('click',function(){api('/v1/webhooks/'+h.id,{method:'DELETE'}).then(loadWebhooks).catch(show);});
        box.appendChild(d);
        api('/v1/webhooks/'+h.id+'/deliveries').then(function(r){
          var ds=(r.deliveries||r).slice(0,5);var t=d.querySelector('.deliveries');
          t.innerHTML=bi('console.webhook.deliveries')+': '+(ds.length?'<table>'+ds.map(function(x){return '<tr data-video="'+esc(x.videoId)+'"><td>'+esc(x.videoId)+'</td><td>'+esc(x.eventType)+'</td><td class="outcome" data-status="'+esc(x.status)+'">'+esc(x.status)+(x.lastStatus?' ('+esc(x.lastStatus)+')':'')+'</td><td>'+esc(x.attempts)+'</td><td>'+esc(x.lastError||'')+'</td></tr>';}).join('')+'</table>':bi('console.webhook.noDeliveries'));
        }).catch(function(){});
      });
    });
  }
  function start(){
    document.getElementById('key-error').hidden=true;
    return loadVideos().then(loadWebhooks).catch(function(e){if(e.status===401){document.getElementById('key-error').hidden=false;}else show(e);});
  }
  document.getElementById('key-form').addEventListener('submit',function(e){e.preventDefault();try{sessionStorage.setItem('omniaffect.apiKey',document.getElementById('api-key').value.trim());}catch(x){}document.getElementById('api-key').value='';start();});
  document.getElementById('forget-key').addEventListener('click',function(){try{sessionStorage.removeItem('omniaffect.apiKey');}catch(x){}document.getElementById('videos').innerHTML='';document.getElementById('webhooks').innerHTML='';});
  document.getElementById('submit-form').addEventListener('submit',function(e){
    e.preventDefault();var st=document.getElementById('submit-status');st.textContent='';
    var file=document.getElementById('file').files[0],url=document.getElementById('url').value.trim(),lang=document.getElementById('language').value,req;
    if(file){var fd=new FormData();fd.append('language',lang);fd.append('file',file,file.name);req=api('/v1/videos',{method:'POST',body:fd});}
    else if(url){req=api('/v1/videos',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({url:url,language:lang})});}
    else return;
    document.getElementById('submit').disabled=true;
    req.then(function(v){document.getElementById('file').value='';document.getElementById('url').value='';return api('/v1/videos/'+v.id).then(render);})
      .catch(show).then(function(){document.getElementById('submit').disabled=false;});
  });
  document.getElementById('webhook-form').addEventListener('submit',function(e){
    e.preventDefault();var st=document.getElementById('webhook-status');
    api('/v1/webhooks',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({url:document.getElementById('webhook-url').value.trim(),events:['video.succeeded','video.failed']})})
      .then(function(h){st.innerHTML=bi('console.webhook.secret')+' <span class="secret">'+esc(h.secret)+'</span>';document.getElementById('webhook-url').value='';return loadWebhooks();})
      .catch(function(x){st.textContent=x.message+(x.problem&&x.problem.detail?': '+x.problem.detail:'');});
  });
  if(key())start();
})();
`;
